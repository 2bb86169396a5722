/** What the service does at the database's edges: busy pools, hung statements, outages, concurrent writers, faults. */
import { Writable } from 'node:stream';
import { createDatabase } from '@tradeos/db';
import { createTestDatabase, withDatabaseName } from '@tradeos/db/testing';
import pg from 'pg';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { call, startServer, type LiveServer } from './helpers.js';

/** A logger destination that keeps every line, parsed. */
function logLines(): { stream: Writable; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { stream, lines };
}

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function serve(options: Parameters<typeof startServer>[0] = {}): Promise<LiveServer> {
  const server = await startServer(options);
  cleanup.push(() => server.close());
  return server;
}

/** A connection of the test's own that holds an exclusive lock on products until `release()`: every product statement waits. */
async function lockProducts(url: string): Promise<{ release: () => Promise<void> }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('BEGIN');
  await client.query('LOCK TABLE products IN ACCESS EXCLUSIVE MODE');
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    await client.query('ROLLBACK');
    await client.end();
  };
  cleanup.push(release);
  return { release };
}

/** Statements of the service still running against products (waiting on the lock included). */
// Not counting itself: through PgBouncer its server connection may carry the application_name of the client before.
async function running(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
       WHERE datname = current_database() AND application_name LIKE 'tradeos-catalog %' AND state = 'active' AND query ILIKE '%products%'
         AND pid <> pg_backend_pid()`,
    );
    return rows[0]!.n;
  } finally {
    await client.end();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the database shows the state a step needs: a busy machine gets there later, it does not fail. */
async function until(condition: () => Promise<boolean>): Promise<void> {
  while (!(await condition())) await sleep(50);
}

describe('list pages under concurrent writers', () => {
  it('never disagree with their total: items and total come from one snapshot', async () => {
    const server = await serve({ database: { pool: { max: 12 } } });
    // A fixed number of pages, each read after another write has landed: the pages and the writes between them
    // are counted by construction, however fast the machine is; the writers stop only when the readers are done.
    const READERS = 4;
    const PAGES_EACH = 50;
    let landed!: () => void;
    let nextWrite = new Promise<void>((resolve) => (landed = resolve));
    const wrote = () => {
      landed();
      nextWrite = new Promise<void>((resolve) => (landed = resolve));
    };
    let stop = false;
    const writer = async (n: number) => {
      for (let i = 0; !stop; i += 1) {
        const created = await call(server.base, 'POST', '/products', { name: `storm-${n}-${i}`, price: 1 });
        wrote();
        await call(server.base, 'DELETE', `/products/${(created.body as { id: number }).id}`);
        wrote();
      }
    };
    const pages: { total: number; items: number }[] = [];
    const reader = async () => {
      for (let i = 0; i < PAGES_EACH; i += 1) {
        await nextWrite;
        const page = (await call(server.base, 'GET', '/products?q=storm-&limit=100')).body as { total: number; items: unknown[] };
        pages.push({ total: page.total, items: page.items.length });
      }
    };
    const writers = Promise.all(Array.from({ length: 8 }, (_, n) => writer(n)));
    // A writer that fails ends the test at once instead of leaving the readers waiting for a write.
    await Promise.race([Promise.all(Array.from({ length: READERS }, reader)), writers]);
    stop = true;
    await writers;
    const disagreeing = pages.filter((page) => page.items !== Math.min(page.total, 100));
    expect(pages).toHaveLength(READERS * PAGES_EACH);
    expect(disagreeing, `${disagreeing.length} of ${pages.length} pages`).toEqual([]);
  });
});

describe('GET /health with a saturated pool', () => {
  it('answers connected at once while every pooled connection waits on a lock (DB_POOL_MAX=2)', async () => {
    const server = await serve({ database: { pool: { max: 2, acquireTimeoutMs: 10_000 } } });
    const lock = await lockProducts(server.db.url);
    const stuck = Array.from({ length: 6 }, (_, i) => call(server.base, 'GET', `/products/search?q=${i}`));
    await until(async () => (await running(server.db.url)) >= 2);
    const started = Date.now();
    const health = await call(server.base, 'GET', '/health');
    const took = Date.now() - started;
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok', database: 'connected' });
    // The contract's bound; queued behind the pool it would wait the 10 s acquire timeout instead.
    expect(took).toBeLessThan(2_000);
    await lock.release();
    expect((await Promise.all(stuck)).map((response) => response.status)).toEqual(Array(6).fill(200));
  });
});

describe('a database that does not answer', () => {
  it('is a 503 within the request timeout for reads and writes, and the reads are cancelled', async () => {
    const server = await serve({ requestTimeoutMs: 1_000 });
    const created = (await call(server.base, 'POST', '/products', { name: 'Заблокированный', price: 1, quantity: 5 })).body as { id: number };
    const lock = await lockProducts(server.db.url);
    const requests: [string, string, unknown?][] = [
      ['GET', `/products/${created.id}`],
      ['GET', '/products?limit=5'],
      ['GET', `/trpc/products.byId?input=${encodeURIComponent(JSON.stringify({ id: created.id }))}`],
      ['POST', '/products', { name: 'Во время блокировки', price: 1 }],
      ['PATCH', `/products/${created.id}/quantity`, { delta: -1 }],
    ];
    const answers = await Promise.all(
      requests.map(async ([method, path, body]) => {
        const started = Date.now();
        const response = await call(server.base, method, path, body);
        return { path, status: response.status, took: Date.now() - started, body: response.body };
      }),
    );
    for (const answer of answers) {
      expect(answer.status, answer.path).toBe(503);
      expect(answer.took, answer.path).toBeLessThan(2_000);
    }
    expect(answers[0]!.body).toEqual({ code: 'SERVICE_UNAVAILABLE', message: expect.any(String) as string });
    // The three reads are cancelled on the server (left alone they would wait for the lock); the two writes wait
    // for the lock or their statement timeout.
    await until(async () => (await running(server.db.url)) <= 2);
    await lock.release();
  });

  it('cancels the query of a request whose client went away', async () => {
    const server = await serve();
    const lock = await lockProducts(server.db.url);
    const controllers = Array.from({ length: 5 }, () => new AbortController());
    const abandoned = controllers.map((controller, i) =>
      fetch(`${server.base}/products/search?q=${encodeURIComponent(`брошен ${i}`)}`, { signal: controller.signal }).catch(() => undefined),
    );
    await until(async () => (await running(server.db.url)) >= 5);
    for (const controller of controllers) controller.abort();
    await Promise.all(abandoned);
    // Not cancelled, they would wait for the lock, held until the end of the test.
    await until(async () => (await running(server.db.url)) === 0);
    await lock.release();
  });
});

describe('updated_at', () => {
  it('differs for every one of three updates of one product in one tRPC batch', async () => {
    const server = await serve();
    const { id } = (await call(server.base, 'POST', '/products', { name: 'Пакетный', price: 1 })).body as { id: number };
    const stamps: string[] = [];
    for (let batch = 0; batch < 10; batch += 1) {
      const input = { 0: { id, quantity: batch }, 1: { id, quantity: batch + 1 }, 2: { id, quantity: batch + 2 } };
      const response = await call(server.base, 'POST', '/trpc/products.update,products.update,products.update?batch=1', input);
      expect(response.status).toBe(200);
      stamps.push(...(response.body as { result: { data: { updated_at: string } } }[]).map((item) => item.result.data.updated_at));
    }
    expect(new Set(stamps).size).toBe(30);
  });
});

describe('why the database is down', () => {
  it('is logged once per change of state, without the password', async () => {
    const { stream, lines } = logLines();
    const adminUrl = inject('adminUrl');
    const later = await createTestDatabase(adminUrl);
    cleanup.push(() => later.drop());
    const name = decodeURIComponent(new URL(later.url).pathname.slice(1));
    await later.drop();
    // The database does not exist yet; the password is one a log must never show.
    const url = new URL(withDatabaseName(adminUrl, name));
    url.password = 'never-log-this-secret';
    const db = createDatabase({ url: url.toString() });
    cleanup.push(() => db.close());
    const { app } = await serve({ db, logger: { level: 'info', stream } });

    for (let i = 0; i < 3; i += 1) expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(503);
    expect((await app.inject({ method: 'GET', url: '/products' })).statusCode).toBe(503);
    const down = lines.filter((line) => line.msg === 'database unavailable');
    expect(down).toHaveLength(1);
    expect(String(down[0]!.cause)).toContain(`database "${name}" does not exist`);
    expect(JSON.stringify(lines)).not.toContain('never-log-this-secret');

    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)} TEMPLATE template0 ENCODING 'UTF8'`);
    await admin.end();
    for (let i = 0; i < 2; i += 1) expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    expect(lines.filter((line) => line.msg === 'database available')).toHaveLength(1);
    expect(lines.filter((line) => line.msg === 'database unavailable')).toHaveLength(1);
  });
});

describe('an unexpected fault', () => {
  it('is logged once, with the request id, over REST and over tRPC', async () => {
    const { stream, lines } = logLines();
    const server = await serve({ logger: { level: 'info', stream } });
    await server.db.sequelize.query('ALTER TABLE products RENAME COLUMN sku TO sku_hidden');
    await call(server.base, 'GET', '/products/1', undefined, { 'x-request-id': 'fault-rest' });
    await call(server.base, 'GET', `/trpc/products.byId?input=${encodeURIComponent('{"id":1}')}`, undefined, { 'x-request-id': 'fault-rpc' });
    for (const id of ['fault-rest', 'fault-rpc']) {
      const errors = lines.filter((line) => line.level === 50 && line.reqId === id);
      expect(errors, id).toHaveLength(1);
      expect(errors[0]).toMatchObject({ request_id: id, msg: 'unhandled error' });
    }
  });
});
