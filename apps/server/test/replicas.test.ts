/**
 * Contract v1.3 over HTTP on a real primary and streaming replica (one cluster for this file): X-Catalog-Position on
 * every response but event streams, X-Catalog-Min-Position (a malformed one is a 422 over REST and tRPC), /health's
 * replicas, the variables of a started server, and the primary down.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openClusterDatabase, startCluster, until, type Cluster } from '../../../tooling/cluster/postgres.js';
import { createDatabase } from '@tradeos/db';
import { buildApp } from '../src/app.js';
import { call, spawnServer } from './helpers.js';

const TOKEN = /^[0-9A-F]{16}$/;

let cluster: Cluster;
let database: Awaited<ReturnType<typeof openClusterDatabase>>;
let app: ReturnType<typeof buildApp>;
let base: string;

const health = async () => (await call(base, 'GET', '/health')).body as { status: string; replicas?: { healthy: number; total: number } };

beforeAll(async () => {
  cluster = await startCluster();
  database = await openClusterDatabase(cluster, { replicaMaxLagMs: 500, pool: { max: 8 }, connectTimeoutMs: 1_000 });
  app = buildApp({ db: database.db });
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
  await cluster?.stop();
});

describe('X-Catalog-Position', () => {
  it('is on every response but event streams; a write\'s is at or past its commit, and a read given it sees the write', async () => {
    const primaryAt = async () => {
      const [row] = await cluster.primary.sql<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
      const [hi, lo] = row!.lsn.split('/').map((part) => BigInt(`0x${part}`));
      return (hi! << 32n) | lo!;
    };
    const before = await primaryAt();
    const created = await call(base, 'POST', '/products', { name: 'Позиция', price: 1 });
    expect(created.status).toBe(201);
    const position = created.headers.get('x-catalog-position')!;
    expect(position).toMatch(TOKEN);
    // Past everything before the write (its commit record comes after), and no further than the primary has come.
    expect(BigInt(`0x${position}`)).toBeGreaterThan(before);
    expect(BigInt(`0x${position}`)).toBeLessThanOrEqual(await primaryAt());

    const id = (created.body as { id: number }).id;
    const read = await call(base, 'GET', `/products/${id}`, undefined, { 'x-catalog-min-position': position });
    expect(read.status).toBe(200);
    expect(read.headers.get('x-catalog-position')! >= position).toBe(true);

    const others = [
      await call(base, 'GET', '/health'),
      await call(base, 'GET', '/products?limit=1'),
      await call(base, 'GET', '/categories'),
      await call(base, 'GET', '/nowhere'),
      await call(base, 'GET', '/products/0'),
      await call(base, 'GET', `/trpc/products.byId?input=${encodeURIComponent(JSON.stringify({ id }))}`),
      await call(base, 'GET', '/events?after=0&limit=1'),
    ];
    for (const response of others) expect(response.headers.get('x-catalog-position'), String(response.status)).toMatch(TOKEN);

    const controller = new AbortController();
    const stream = await fetch(`${base}/events/stream?after=0`, { signal: controller.signal });
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(stream.headers.get('x-catalog-position')).toBeNull();
    controller.abort();
  });

  it('a malformed X-Catalog-Min-Position is a 422 at [] over REST and tRPC, and nothing is read or done', async () => {
    const input = encodeURIComponent(JSON.stringify({}));
    for (const bad of ['abc', '00000000016b3748', '0/16B3748', '000000000016B3748', '00000000016B374G']) {
      for (const [method, path, body] of [
        ['GET', '/products', undefined],
        ['GET', `/trpc/products.list?input=${input}`, undefined],
        ['POST', '/products', { name: 'Никогда', price: 1 }],
      ] as const) {
        const response = await call(base, method, path, body, { 'x-catalog-min-position': bad });
        expect(response.status, `${method} ${path} ${bad}`).toBe(422);
        expect(response.body).toMatchObject({ code: 'UNPROCESSABLE_CONTENT', issues: [{ path: [], message: expect.stringContaining('X-Catalog-Min-Position') as string }] });
      }
    }
    const search = await call(base, 'GET', `/products?q=${encodeURIComponent('Никогда')}`);
    expect((search.body as { total: number }).total).toBe(0);
  });
});

describe('without replicas', () => {
  it('only the header is new: a write gets its commit position, a read given it answers at least that, /health has no replicas', async () => {
    const db = createDatabase({ url: database.url, pool: { max: 2 } });
    const plain = buildApp({ db });
    await plain.listen({ port: 0, host: '127.0.0.1' });
    const at = `http://127.0.0.1:${(plain.server.address() as AddressInfo).port}`;
    try {
      const created = await call(at, 'POST', '/products', { name: 'Без реплик', price: 1 });
      const position = created.headers.get('x-catalog-position')!;
      expect(position).toMatch(TOKEN);
      expect(position > '0000000000000000').toBe(true);
      const read = await call(at, 'GET', `/products/${(created.body as { id: number }).id}`, undefined, { 'x-catalog-min-position': position });
      expect(read.status).toBe(200);
      expect(read.headers.get('x-catalog-position')! >= position).toBe(true);
      expect((await call(at, 'GET', '/health')).body).toEqual({ status: 'ok', database: 'connected' });
    } finally {
      await plain.close();
      await db.close();
    }
  });
});

describe('/health', () => {
  it('reports the replicas, a paused one leaving the healthy count and coming back', async () => {
    expect(await health()).toMatchObject({ status: 'ok', replicas: { healthy: 1, total: 1 } });
    const replica = cluster.replicas[0]!;
    await cluster.pause(replica);
    try {
      await call(base, 'POST', '/products', { name: 'Отставание', price: 1 });
      await until('the paused replica leaves the healthy count', async () => (await health()).replicas?.healthy === 0);
      expect(await health()).toMatchObject({ status: 'ok', replicas: { healthy: 0, total: 1 } });
      // With no healthy replica, reads go to the primary: never an error.
      expect((await call(base, 'GET', '/products?limit=1')).status).toBe(200);
    } finally {
      await cluster.resume(replica);
    }
    await until('the resumed replica is healthy', async () => (await health()).replicas?.healthy === 1);
  });

  it('a server started with DATABASE_REPLICA_URLS and REPLICA_MAX_LAG_MS reads them', async () => {
    const spawned = await spawnServer({ DATABASE_REPLICA_URLS: ` ${database.replicaUrls.join(' , ')} `, REPLICA_MAX_LAG_MS: '2000' }, { databaseUrl: database.url });
    try {
      await until('the started server finds its replica', async () => ((await call(spawned.base, 'GET', '/health')).body as { replicas?: { healthy: number } }).replicas?.healthy === 1);
      expect((await call(spawned.base, 'GET', '/health')).body).toMatchObject({ replicas: { healthy: 1, total: 1 } });
    } finally {
      await spawned.stop();
    }
  });
});

describe('the primary down', () => {
  it('reads keep answering from the replica; writes and /health are 503', async () => {
    const created = await call(base, 'POST', '/products', { name: 'Уцелевший', price: 3 });
    const id = (created.body as { id: number }).id;
    await cluster.caughtUp();
    await cluster.primary.stop('fast');
    try {
      for (let i = 0; i < 10; i += 1) {
        const read = await call(base, 'GET', `/products/${id}`);
        expect(read.status).toBe(200);
        expect(read.body).toMatchObject({ id, price: 3 });
      }
      expect((await call(base, 'GET', '/products?limit=5')).status).toBe(200);
      expect((await call(base, 'GET', '/categories')).status).toBe(200);
      expect((await call(base, 'POST', '/products', { name: 'Никогда', price: 1 })).status).toBe(503);
      const down = await call(base, 'GET', '/health');
      expect(down.status).toBe(503);
      expect(down.body).toMatchObject({ status: 'error', database: 'disconnected', replicas: { healthy: 1, total: 1 } });
    } finally {
      await cluster.primary.start();
    }
  });
});
