import { createDatabase, freePort } from '@tradeos/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type LiveServer } from './helpers.js';

let server: LiveServer;
let base: string;

beforeAll(async () => {
  server = await startServer();
  base = server.base;
});
afterAll(() => server.close());

describe('GET /health', () => {
  it('answers 200 connected, with a fresh request id', async () => {
    const response = await fetch(`${base}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok', database: 'connected' });
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers HEAD like GET, without a body', async () => {
    const response = await fetch(`${base}/health`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('');
  });

  it('answers 503 disconnected within 2 s when the database is unreachable, without driver text', async () => {
    const down = createDatabase({ url: `postgres://postgres@127.0.0.1:${await freePort()}/nowhere` });
    const broken = await startServer({ db: down });
    try {
      const started = Date.now();
      const response = await broken.app.inject({ method: 'GET', url: '/health' });
      expect(Date.now() - started).toBeLessThan(2_500);
      expect(response.statusCode).toBe(503);
      expect(response.json()).toEqual({ status: 'error', database: 'disconnected' });
    } finally {
      await broken.close();
      await down.close();
    }
  });
});

describe('request ids and unknown routes', () => {
  it('echoes a valid X-Request-Id and replaces an invalid one', async () => {
    const echoed = await fetch(`${base}/health`, { headers: { 'x-request-id': 'client-42:a.b_c' } });
    expect(echoed.headers.get('x-request-id')).toBe('client-42:a.b_c');
    const replaced = await fetch(`${base}/health`, { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const tooLong = await fetch(`${base}/health`, { headers: { 'x-request-id': 'a'.repeat(129) } });
    expect(tooLong.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers an unknown route with a JSON 404', async () => {
    const response = await fetch(`${base}/nowhere?x=1`, { method: 'POST', body: '{', headers: { 'content-type': 'application/json' } });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ code: 'NOT_FOUND', message: 'Route POST /nowhere not found' });
    expect(response.headers.get('x-request-id')).toBeTruthy();
  });
});
