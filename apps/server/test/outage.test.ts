import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDatabase, createMigrator, freePort, startEmbeddedPostgres, type Database, type EmbeddedPostgres } from '@tradeos/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startServer, type LiveServer } from './helpers.js';

// A PostgreSQL of this test's own, so stopping it disturbs nothing else.
const dataDir = join(tmpdir(), `tradeos-outage-${process.pid}`);
let port: number;
let postgres: EmbeddedPostgres;
let db: Database;
let server: LiveServer;
let base: string;

beforeAll(async () => {
  port = await freePort();
  postgres = await startEmbeddedPostgres({ dataDir, port, database: 'catalog' });
  db = createDatabase({ url: postgres.url, pool: { max: 5 } });
  await createMigrator(db).up();
  server = await startServer({ db });
  base = server.base;
});
afterAll(async () => {
  await server.close();
  await db.close();
  await postgres.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('a database outage', () => {
  it('is answered with fast 503s, and the server recovers by itself with every acknowledged write intact', async () => {
    const acknowledged: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      const response = await call(base, 'POST', '/products', { name: `До сбоя ${i}`, price: 10 + i, quantity: 1 });
      expect(response.status).toBe(201);
      acknowledged.push((response.body as { id: number }).id);
    }

    await postgres.stop();
    const requests: [string, string, unknown?][] = [
      ['GET', '/health'],
      ['GET', '/products'],
      ['GET', `/products/${acknowledged[0]!}`],
      ['GET', '/categories'],
      ['POST', '/products', { name: 'Во время сбоя', price: 1 }],
      ['PATCH', `/products/${acknowledged[0]!}/quantity`, { delta: -1 }],
    ];
    for (let round = 0; round < 3; round += 1) {
      for (const [method, path, body] of requests) {
        const started = Date.now();
        const response = await call(base, method, path, body);
        expect(Date.now() - started, `${method} ${path}`).toBeLessThan(2_000);
        expect(response.status, `${method} ${path}: ${response.text}`).toBe(503);
        expect(response.text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|postgres:\/\//);
      }
    }

    postgres = await startEmbeddedPostgres({ dataDir, port, database: 'catalog' });
    const restarted = Date.now();
    let recovered = false;
    while (!recovered && Date.now() - restarted < 5_000) {
      recovered = (await call(base, 'GET', '/products?limit=1')).status === 200;
      if (!recovered) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(recovered, 'recovered within 5 s of the database coming back').toBe(true);
    console.log(`recovered ${Date.now() - restarted} ms after PostgreSQL came back`);

    expect((await call(base, 'GET', '/health')).status).toBe(200);
    for (const id of acknowledged) expect((await call(base, 'GET', `/products/${id}`)).status).toBe(200);
    const during = (await call(base, 'GET', `/products/search?q=${encodeURIComponent('Во время сбоя')}`)).body as { total: number };
    expect(during.total).toBe(0);
    expect((await call(base, 'POST', '/products', { name: 'После сбоя', price: 1 })).status).toBe(201);
  });
});
