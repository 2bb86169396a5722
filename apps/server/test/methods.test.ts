/**
 * Methods and query keys at the edge (issue 11 item 9): any method a known path does not serve is a 405
 * with Allow (CORS preflight aside, for a configured origin), and `?__proto__=` is a 422, never a prototype.
 */
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { call, startServer, type LiveServer } from './helpers.js';

let server: LiveServer;

beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

/** node:http, since fetch refuses TRACE and some other methods. */
function send(base: string, method: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, headers }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('any other method on a known path is a 405 with Allow', () => {
  it('answers OPTIONS, TRACE, PROPFIND and friends with 405, Allow and the contract body', async () => {
    for (const method of ['OPTIONS', 'TRACE', 'PROPFIND', 'MKCOL', 'SEARCH', 'QUERY', 'LOCK']) {
      for (const [path, allow] of [['/products', 'GET, POST, HEAD'], ['/products/1', 'GET, PUT, DELETE, HEAD'], ['/docs', 'GET, HEAD'], ['/trpc/products.list', 'GET, POST, HEAD']] as const) {
        const response = await send(server.base, method, path);
        expect(response.status, `${method} ${path}`).toBe(405);
        expect(response.headers.allow).toBe(allow);
        expect(response.headers['x-request-id']).toBeTruthy();
        expect(JSON.parse(response.body)).toMatchObject({ code: 'METHOD_NOT_SUPPORTED' });
      }
    }
  });

  it('still answers an unknown path with 404, whatever the method', async () => {
    for (const method of ['OPTIONS', 'PROPFIND']) expect((await send(server.base, method, '/nowhere')).status).toBe(404);
  });

  it('answers a preflight only for a configured origin; any other origin gets the 405', async () => {
    const app = buildApp({ db: server.db, corsOrigins: ['https://shop.example'] });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    try {
      const preflight = { 'access-control-request-method': 'POST' };
      const allowed = await send(base, 'OPTIONS', '/products', { origin: 'https://shop.example', ...preflight });
      expect(allowed.status).toBe(204);
      expect(allowed.headers['access-control-allow-origin']).toBe('https://shop.example');
      const other = await send(base, 'OPTIONS', '/products', { origin: 'https://evil.example', ...preflight });
      expect(other.status).toBe(405);
      expect(other.headers['access-control-allow-origin']).toBeUndefined();
      expect((await send(base, 'OPTIONS', '/products')).status).toBe(405);
    } finally {
      await app.close();
    }
  });
});

describe('__proto__ in a query or body is an unknown field', () => {
  it('answers ?__proto__=x with 422 naming it', async () => {
    const response = await call(server.base, 'GET', '/products?__proto__=x');
    expect(response.status).toBe(422);
    expect(response.body).toMatchObject({ code: 'UNPROCESSABLE_CONTENT', issues: [{ path: ['__proto__'] }] });
  });

  it('never lets ?__proto__=a&__proto__=b replace the input prototype', async () => {
    const response = await call(server.base, 'GET', '/products?__proto__=a&__proto__=b&limit=1');
    expect(response.status).toBe(422);
    expect(response.body).toMatchObject({ issues: [{ path: ['__proto__'] }] });
  });

  it('answers a body key __proto__ with 422, over REST and tRPC', async () => {
    for (const path of ['/products', '/trpc/products.create']) {
      const response = await call(server.base, 'POST', path, '{"name":"x","price":1,"__proto__":{"admin":true}}');
      expect(response.status, path).toBe(422);
    }
  });
});
