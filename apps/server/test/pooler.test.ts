/**
 * Contract v1.3, a pooler in transaction mode: against a real PgBouncer 1.18 (started here in front of the run's
 * server, one or two server connections so that who shares one is known), in both CI passes.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createDatabase, createProduct, DataError, freePort, getProductById, type Database } from '@tradeos/db';
import { useEmptyDatabase } from '@tradeos/db/fixture';
import { createMigratedDatabase, pooledDatabase } from '@tradeos/db/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startPgBouncer, type PgBouncer } from '../../../tooling/cluster/pgbouncer.js';
import { call, expectBusy, startServer } from './helpers.js';

const main = new URL('../dist/main.js', import.meta.url).pathname;
const cli = new URL('../../../packages/db/dist/ops/cli.js', import.meta.url).pathname;
const QUIET = { API_KEYS: '', RATE_LIMIT_MAX: '0', WORKERS: '1', SEED_ON_START: 'false', MIGRATE_ON_START: 'false', DATABASE_DIRECT_URL: '', DATABASE_POOLER: '' };

async function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, args, { env: { ...process.env, ...QUIET, ...env }, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
    return { code, stdout, stderr };
  }
}

/** A plain client through the pooler: the stranger who shares its server connections. */
async function stranger(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const admin = new URL(inject('adminUrl'));
const bouncerFor = (poolSize: number) => startPgBouncer({ host: admin.hostname, port: Number(admin.port || 5432), users: [decodeURIComponent(admin.username)], poolSize });

describe('behind PgBouncer in transaction mode, one server connection', () => {
  let bouncer: PgBouncer;
  let handle: { db: Database; drop: () => Promise<void> };
  let direct: string;

  beforeAll(async () => {
    bouncer = await bouncerFor(1);
    handle = await createMigratedDatabase(inject('adminUrl'), { queryTimeoutMs: 500, statementTimeoutMs: 0 }, bouncer.through(inject('adminUrl')));
    direct = handle.db.directUrl;
  });
  afterAll(async () => {
    await handle?.drop();
    await bouncer?.stop();
  });

  it('sends no startup parameter PgBouncer refuses and leaves no session setting to the next client', async () => {
    const category = await handle.db.Category.create({ name: 'Пулер' });
    expect(category.id).toBeGreaterThan(0);
    // Sequelize would have run SET client_min_messages TO warning on the one server connection everyone shares.
    const other = await stranger(handle.db.url);
    try {
      const { rows } = await other.query<{ level: string }>(`SELECT current_setting('client_min_messages') AS level`);
      expect(rows[0]!.level).toBe('notice');
    } finally {
      await other.end();
    }
    expect(bouncer.output()).not.toContain('unsupported startup parameter');
  });

  it('cancels a statement that outlived the client-side timeout through the pooler, on the server too', async () => {
    const failure = await handle.db.query('SELECT pg_sleep(60)').then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(DataError);
    expect((failure as DataError).kind).toBe('timeout');
    const watcher = await stranger(direct);
    try {
      await until(async () => (await watcher.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)' AND state = 'active'`)).rows[0]!.n === 0, 'the cancelled statement to end');
    } finally {
      await watcher.end();
    }
  });

  it("never cancels a stranger's statement on the server connection it last used", async () => {
    // The handle's read connection has used the one server connection; now a stranger holds it.
    await handle.db.query('SELECT 1');
    const other = await stranger(handle.db.url);
    try {
      const theirs = other.query(`SELECT 'finished' AS outcome FROM pg_sleep(4)`);
      await until(async () => (await activeSleeps(direct)) === 1, "the stranger's statement to run");
      // Ours waits for the server connection, times out and is cancelled: by pid that would stop theirs.
      await expect(handle.db.query('SELECT 1')).rejects.toMatchObject({ kind: 'timeout' });
      expect((await theirs).rows[0]).toEqual({ outcome: 'finished' });
    } finally {
      await other.end();
    }
  });

});

async function activeSleeps(url: string): Promise<number> {
  const client = await stranger(url);
  try {
    return (await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE '%FROM pg_sleep(4)' AND state = 'active'`)).rows[0]!.n;
  } finally {
    await client.end();
  }
}

describe('behind PgBouncer in transaction mode, two server connections', () => {
  let bouncer: PgBouncer;
  let handle: { db: Database; drop: () => Promise<void> };

  beforeAll(async () => {
    bouncer = await bouncerFor(2);
    // The server-side timeout is the database's setting (pooledDatabase), set before any server connection opens.
    handle = await createMigratedDatabase(inject('adminUrl'), { statementTimeoutMs: 2_000, queryTimeoutMs: 30_000 }, bouncer.through(inject('adminUrl')));
  });
  afterAll(async () => {
    await handle?.drop();
    await bouncer?.stop();
  });

  /** Runs `between` while a stranger's transaction holds the server connection that served the first statement. */
  async function acrossServers(url: string, first: () => Promise<unknown>, second: () => Promise<unknown>): Promise<unknown> {
    await first();
    const other = await stranger(url);
    try {
      await other.query('BEGIN');
      await other.query('SELECT 1');
      return await second().then(
        () => undefined,
        (error: unknown) => error,
      );
    } finally {
      await other.query('ROLLBACK');
      await other.end();
    }
  }

  it('shows why: a named statement fails on the next server connection (PgBouncer 1.18 has no prepared statements)', async () => {
    const client = await stranger(handle.db.url);
    try {
      const statement = { name: 'tradeos_pooler_probe', text: 'SELECT $1::int AS n' };
      const failure = await acrossServers(handle.db.url, () => client.query(statement, [1]), () => client.query(statement, [2]));
      expect(String(failure)).toContain('prepared statement "tradeos_pooler_probe" does not exist');
    } finally {
      await client.end();
    }
  });

  it("sends the hot reads' named statements unnamed: the same reads succeed across server connections", async () => {
    const created = await createProduct(handle.db, { name: 'Через пулер', price: 1 });
    const read = () => getProductById(handle.db, created.id);
    expect(await acrossServers(handle.db.url, read, read)).toBeUndefined();
    expect((await read())?.name).toBe('Через пулер');
  });

  it('serves the API and its change feed through the pooler (the feed on the direct URL)', async () => {
    const server = await startServer({ db: handle.db });
    try {
      const created = await call(server.base, 'POST', '/products', { name: 'Событие пулера', price: 2 });
      expect(created.status).toBe(201);
      const { id } = created.body as { id: number };
      expect((await call(server.base, 'GET', `/products/${id}`)).status).toBe(200);
      const events = await call(server.base, 'GET', '/events?limit=1000');
      expect((events.body as { items: { data: { id?: number } }[] }).items.some((event) => event.data.id === id)).toBe(true);
    } finally {
      await server.close();
    }
  });

  it("bounds a statement by the role's or database's setting, sent as no startup parameter", async () => {
    await expect(handle.db.query('SELECT pg_sleep(10)')).rejects.toMatchObject({ code: '57014' });
    expect(bouncer.output()).not.toContain('unsupported startup parameter');
  });
});

describe('a busy pooler (contract v1.3: time spent waiting in a pooler counts)', () => {
  let bouncer: PgBouncer;
  let handle: { db: Database; drop: () => Promise<void> };
  let server: Awaited<ReturnType<typeof startServer>>;

  beforeAll(async () => {
    // One server connection, and PgBouncer's query_wait_timeout set (as the README says) near the acquire timeout.
    bouncer = await startPgBouncer({ host: admin.hostname, port: Number(admin.port || 5432), users: [decodeURIComponent(admin.username)], poolSize: 1, queryWaitTimeoutS: 1 });
    handle = await createMigratedDatabase(inject('adminUrl'), {}, bouncer.through(inject('adminUrl')));
    server = await startServer({ db: handle.db });
  });
  afterAll(async () => {
    await server?.close();
    await handle?.drop();
    await bouncer?.stop();
  });

  it('is a 503 with Retry-After saying it is busy, nothing is written, /health stays 200; then it serves again', async () => {
    const created = await call(server.base, 'POST', '/products', { name: 'Ждёт пулер', price: 1 });
    expect(created.status).toBe(201);
    const { id } = created.body as { id: number };
    const holder = await stranger(handle.db.url);
    try {
      // The pooler's one server connection, held by a stranger's transaction.
      await holder.query('BEGIN');
      await holder.query('SELECT 1');
      for (const [method, path, body] of [['GET', `/products/${id}`], ['POST', '/products', { name: 'Не создан', price: 1 }]] as const) {
        const busy = await call(server.base, method, path, body);
        expectBusy(busy, `${method} ${path}`, busy.body);
      }
      expectBusy(await fetch(`${server.base}/trpc/products.byId?input=${encodeURIComponent(JSON.stringify({ id }))}`), 'tRPC products.byId');
      const health = await call(server.base, 'GET', '/health');
      expect(health.status).toBe(200);
      expect(health.body).toMatchObject({ status: 'ok', database: 'connected' });
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    expect((await call(server.base, 'GET', `/products/${id}`)).status).toBe(200);
    const [{ n }] = (await handle.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM products WHERE name = 'Не создан'`)) as [{ n: number }];
    expect(n).toBe(0);
  });

  it('is down once the pooler is: /health 503 disconnected, and a 503 without Retry-After', async () => {
    await bouncer.stop();
    const health = await call(server.base, 'GET', '/health');
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({ database: 'disconnected' });
    const down = await call(server.base, 'GET', '/products');
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBeNull();
  });
});

describe('the by-id read behind PgBouncer in transaction mode: a PL/pgSQL function, planned once per server connection', () => {
  let bouncer: PgBouncer;
  let direct: { db: Database; drop: () => Promise<void> };
  let pooled: Database;
  // The pooled reads of this block, each one call of the function.
  let reads = 0;
  const read = (id: number) => {
    reads += 1;
    return getProductById(pooled, id);
  };

  beforeAll(async () => {
    direct = await createMigratedDatabase(inject('adminUrl'));
    // Counted calls of PL/pgSQL functions, on every server connection PgBouncer opens (none is open yet: it starts after).
    const name = pg.escapeIdentifier(decodeURIComponent(new URL(direct.db.url).pathname.slice(1)));
    await direct.db.query(`ALTER DATABASE ${name} SET track_functions = 'pl'`);
    bouncer = await bouncerFor(1);
    pooled = createDatabase(await pooledDatabase(direct.db.url, bouncer.through(inject('adminUrl')), 2_000));
  });
  afterAll(async () => {
    await pooled?.close();
    await direct?.drop();
    await bouncer?.stop();
  });

  it('returns the row of the plain statement (category, version, units reserved now) and null for no product', async () => {
    const [category] = await direct.db.query<{ id: number }>(`INSERT INTO categories (name) VALUES ('Пулер') RETURNING id`);
    const held = await createProduct(direct.db, { name: 'Держится', price: 12.3, quantity: 10, sku: 'POOL-HELD', description: 'Описание', category_id: category!.id });
    const plain = await createProduct(direct.db, { name: 'Свободен', price: 0 });
    await direct.db.query(`UPDATE products SET quantity = 9 WHERE id = $1`, [held.id]);
    const reserve = async (quantity: number, heldFor: string) => {
      const [reservation] = await direct.db.query<{ id: string }>(`INSERT INTO reservations (expires_at) VALUES (date_trunc('milliseconds', now() + interval '1 hour')) RETURNING id`);
      await direct.db.query(`INSERT INTO reservation_items (reservation_id, product_id, quantity, held_until) VALUES ($1, $2, $3, now() + $4::interval)`, [reservation!.id, held.id, quantity, heldFor]);
    };
    await reserve(3, '1 hour');
    await reserve(2, '1 hour');
    await reserve(4, '-1 second');
    const viaFunction = await read(held.id);
    expect(viaFunction).toEqual(await getProductById(direct.db, held.id));
    expect(viaFunction).toMatchObject({ reserved: 5, version: 2, quantity: 9, category_name: 'Пулер', price: '12.30' });
    expect(Object.keys(viaFunction!)).toEqual(Object.keys((await getProductById(direct.db, held.id))!));
    expect(await read(plain.id)).toEqual(await getProductById(direct.db, plain.id));
    expect(await read(plain.id)).toMatchObject({ reserved: 0, category_name: null });
    expect(await read(plain.id + 1_000)).toBeNull();
  });

  it('calls the function for each read in pooler mode, and only then', async () => {
    const created = await createProduct(direct.db, { name: 'Считается', price: 1 });
    const calls = async () => {
      const [row] = await direct.db.query<{ calls: number }>(`SELECT coalesce(sum(calls), 0)::int AS calls FROM pg_stat_user_functions WHERE funcname = 'catalog_product_by_id'`);
      return row!.calls;
    };
    for (let again = 0; again < 3; again += 1) expect((await read(created.id))?.name).toBe('Считается');
    // Direct reads (the named SELECT) call nothing, on connections opened after track_functions was set too.
    const unpooled = createDatabase({ url: direct.db.url });
    try {
      for (let again = 0; again < 3; again += 1) expect((await getProductById(unpooled, created.id))?.name).toBe('Считается');
    } finally {
      await unpooled.close();
    }
    // A server process reports its counts once idle (at most ten seconds on): then exactly one call per pooled read.
    await until(async () => (await calls()) >= reads, 'the pooled reads to be counted');
    expect(await calls()).toBe(reads);
  });
});

describe("the run's own pooler (CI's second pass: TEST_POOLER=transaction)", () => {
  it('serves the suites through PgBouncer exactly when the run started one', async () => {
    const server = await startServer();
    try {
      const pooler = inject('poolerUrl');
      expect(server.db.pooler).toBe(pooler ? 'transaction' : 'session');
      expect(new URL(server.db.url).host).toBe(new URL(pooler || server.db.directUrl).host);
      expect((await call(server.base, 'GET', '/products')).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});

describe('configuration for a pooler in transaction mode', () => {
  const database = useEmptyDatabase();

  it('refuses to start the server or migrate without DATABASE_DIRECT_URL, in one line', async () => {
    const env = { DATABASE_URL: database.url, DATABASE_POOLER: 'transaction', PORT: String(await freePort()) };
    const server = await run([main], env);
    const migrations = await run([cli, 'upgrade', 'head'], env);
    expect(server.code).toBe(1);
    expect(server.stderr).toBe('invalid configuration: DATABASE_DIRECT_URL: required when DATABASE_POOLER=transaction (PostgreSQL itself, for migrations and the change feed)\n');
    expect(migrations.code).not.toBe(0);
    expect(migrations.stderr).toBe(server.stderr);
  });

  it('migrates through DATABASE_DIRECT_URL while DATABASE_URL is the pooler', async () => {
    const bouncer = await bouncerFor(1);
    try {
      const env = { DATABASE_URL: bouncer.through(database.url), DATABASE_POOLER: 'transaction', DATABASE_DIRECT_URL: database.url };
      const migrated = await run([cli, 'upgrade', 'head'], env);
      expect(migrated.stdout).toMatch(/^applied \d+ migration\(s\)$/m);
      expect(migrated.code).toBe(0);
      const status = await run([cli, 'status'], env);
      expect(status.stdout).toContain('[applied]');
      expect(status.stdout).not.toContain('[pending]');
    } finally {
      await bouncer.stop();
    }
  });
});
