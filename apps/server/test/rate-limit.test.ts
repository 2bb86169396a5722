/**
 * tRPC batches and the rate limit (issue 11, items 3 and 7): a batch has a maximum size and each of its
 * calls counts; one limit per client across WORKERS=N (through the primary) and across instances (Redis).
 */
import { randomUUID } from 'node:crypto';
import { get } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type AppOptions } from '../src/app.js';
import { RedisStore } from '../src/rate-limit.js';
import { spawnServer, startServer, type LiveServer } from './helpers.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
let server: LiveServer;
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await server.close();
});

async function serve(options: Omit<AppOptions, 'db'>): Promise<string> {
  const app = buildApp({ db: server.db, ...options });
  apps.push(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

/** `n` calls of categories.list in one batch GET. */
const batch = (n: number) =>
  `/trpc/${Array.from({ length: n }, () => 'categories.list').join(',')}?batch=1&input=${encodeURIComponent(JSON.stringify(Object.fromEntries(Array.from({ length: n }, (_, i) => [i, {}]))))}`;

/** A GET on a connection of its own, so node:cluster can hand each to another worker. */
function freshGet(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    }).on('error', reject);
  });
}

describe('tRPC batch size (issue 11 item 3)', () => {
  it('serves a batch of 10 and refuses 11 with 400 in the contract shape', async () => {
    const ok = await fetch(`${server.base}${batch(10)}`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toHaveLength(10);
    const tooMany = await fetch(`${server.base}${batch(11)}`);
    expect(tooMany.status).toBe(400);
    expect(tooMany.headers.get('x-request-id')).toBeTruthy();
    expect(await tooMany.json()).toEqual({ code: 'BAD_REQUEST', message: 'A tRPC batch holds at most 10 calls; this one has 11' });
  });

  it('takes the maximum as a setting', async () => {
    const base = await serve({ maxBatchSize: 2 });
    expect((await fetch(`${base}${batch(2)}`)).status).toBe(200);
    expect((await fetch(`${base}${batch(3)}`)).status).toBe(400);
  });

  it('counts every call of a batch against the rate limit', async () => {
    const base = await serve({ rateLimit: { max: 5, windowMs: 60_000 } });
    const first = await fetch(`${base}${batch(5)}`);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ratelimit-remaining')).toBe('0');
    const next = await fetch(`${base}/categories`);
    expect(next.status).toBe(429);
    expect(await next.json()).toEqual({ code: 'TOO_MANY_REQUESTS', message: expect.any(String) as string });
  });
});

describe('one rate limit per client across processes (issue 11 item 7)', () => {
  it('holds across WORKERS=2 through the cluster primary', async () => {
    const spawned = await spawnServer({ WORKERS: '2', RATE_LIMIT_MAX: '10' });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 20; i += 1) statuses.push(await freshGet(`${spawned.base}/categories`));
      expect(statuses.filter((status) => status === 200)).toHaveLength(10);
      expect(statuses.slice(10).every((status) => status === 429)).toBe(true);
    } finally {
      await spawned.stop();
    }
  });

  it('holds across two instances sharing Redis', async () => {
    const prefix = `test:${randomUUID()}:`;
    const one = await serve({ rateLimit: { max: 4, windowMs: 60_000, store: new RedisStore(REDIS_URL, 60_000, prefix) } });
    const two = await serve({ rateLimit: { max: 4, windowMs: 60_000, store: new RedisStore(REDIS_URL, 60_000, prefix) } });
    const statuses: number[] = [];
    for (const base of [one, two, one, two, one, two]) statuses.push((await fetch(`${base}/categories`)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    const limited = await fetch(`${two}/categories`);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
  });

  it('starts a new window in Redis when the old one ends', async () => {
    const store = new RedisStore(REDIS_URL, 300, `test:${randomUUID()}:`);
    try {
      expect((await store.hit('client', 3)).total).toBe(3);
      expect((await store.hit('client', 1)).total).toBe(4);
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect((await store.hit('client', 1)).total).toBe(1);
    } finally {
      await store.close();
    }
  });

  it('serves requests when Redis cannot be reached, rather than failing them', async () => {
    const base = await serve({ rateLimit: { max: 1, windowMs: 60_000, store: new RedisStore('redis://127.0.0.1:1', 60_000) } });
    const statuses = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await fetch(`${base}/categories`)).status);
    expect(statuses).toEqual([200, 200, 200]);
  });
});
