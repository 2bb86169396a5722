import { createDatabase, freePort } from '@tradeos/db';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, expectBusy, startServer, type LiveServer } from './helpers.js';

// One connection per pool and a short wait for it: one request held on a row lock makes the pool busy.
let server: LiveServer;
let id: number;

beforeAll(async () => {
  server = await startServer({ database: { pool: { max: 1, acquireTimeoutMs: 300 } } });
  id = ((await call(server.base, 'POST', '/products', { name: 'Ноутбук', price: 1, quantity: 5 })).body as { id: number }).id;
});
afterAll(() => server.close());

describe('a busy pool', () => {
  it('is a 503 with Retry-After saying it is busy, while /health stays 200, and the held write then succeeds', async () => {
    const session = new pg.Client({ connectionString: server.db.url });
    await session.connect();
    try {
      await session.query('BEGIN');
      await session.query('SELECT 1 FROM products WHERE id = $1 FOR UPDATE', [id]);
      // The update waits on the row lock, holding the pool's one connection.
      const held = call(server.base, 'PUT', `/products/${id}`, { price: 2 });
      await expect.poll(async () => (await session.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted`)).rows[0]!.n).toBeGreaterThan(0);

      const busy = await call(server.base, 'GET', `/products/${id}`);
      expectBusy(busy, 'REST', busy.body);
      expectBusy(await fetch(`${server.base}/trpc/products.byId?input=${encodeURIComponent(JSON.stringify({ id }))}`), 'tRPC');

      const health = await call(server.base, 'GET', '/health');
      expect(health.status).toBe(200);

      await session.query('COMMIT');
      const done = await held;
      expect(done.status).toBe(200);
      expect((done.body as { price: number }).price).toBe(2);
    } finally {
      await session.end();
    }
  });
});

describe('an unreachable database', () => {
  it('is a 503 without Retry-After: the outcome of a write is unknown, so it is not called busy', async () => {
    const port = await freePort();
    const db = createDatabase({ url: `postgres://postgres@127.0.0.1:${port}/nowhere`, connectTimeoutMs: 500 });
    const down = await startServer({ db });
    try {
      for (const [method, path, body] of [['GET', '/products/1'], ['POST', '/products', { name: 'X', price: 1 }]] as const) {
        const response = await call(down.base, method, path, body);
        expect(response.status, `${method} ${path}`).toBe(503);
        expect(response.headers.get('retry-after'), `${method} ${path}`).toBeNull();
        expect((response.body as { message: string }).message).not.toMatch(/busy/);
      }
    } finally {
      await down.close();
      await db.close();
    }
  });
});
