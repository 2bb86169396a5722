/**
 * `pnpm bench`: the service against its floors, side by side, on BENCH_PRODUCTS products (default 100 000).
 * Loopback only, bounded in time (BENCH_DURATION seconds per workload). Prints one table, writes
 * bench/results/*.json. The server runs with its default settings (LOG_LEVEL info, logs to /dev/null) unless
 * BENCH_LOG_LEVEL says otherwise; BENCH_ONLY=W1,W3 runs only the workloads whose names start so (floors always run).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { createDatabase, createMigrator, freePort, seed, seedSynthetic, startEmbeddedPostgres } from '@tradeos/db';
import { safeWrites } from './safe-writes.js';
import { feedWorkloads } from './feed.js';
import { BENCH_REFERENCE, holdReservations, reserveAndCommit } from './reservations.js';
import { POOLED_W1, pooledW1 } from './pooler.js';
import { replicaBench } from './replicas.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const PRODUCTS = Number(process.env.BENCH_PRODUCTS ?? 100_000);
const WORKERS = process.env.BENCH_WORKERS ?? '1';
const POOL = process.env.BENCH_POOL_MAX ?? '20';
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'info';
const ONLY = process.env.BENCH_ONLY?.split(',').filter(Boolean) ?? [];
// Contract v1.3: active reservations held through every workload (W1/W4 must not slow down because they exist).
const RESERVATIONS = Number(process.env.BENCH_RESERVATIONS ?? 0);
// Contract v1.3: W1 also through PgBouncer in transaction mode, by a second server process (bench/pooler.ts).
const POOLER = process.env.BENCH_POOLER === '1';
const DIRECT_W1_AGAIN = 'W1 GET /products/{id} (direct, after the pooler)';
const selected = (workload: string) => workload.startsWith('floor') || !ONLY.length || ONLY.some((prefix) => workload.startsWith(prefix));
// One data directory per catalog size: a 1 000 000-product database is seeded once and kept between runs.
const dataDir = `${root}.data/bench-postgres${PRODUCTS === 100_000 ? '' : `-${PRODUCTS}`}`;

export interface Row {
  workload: string;
  connections: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  requests: number;
  ok: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(url: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await fetch(url).then((r) => r.ok, () => false)) return Date.now() - started;
    await sleep(20);
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

/** Prepares the bench database once: migrated, seeded, PRODUCTS products. Returns nothing running. */
async function prepare(port: number): Promise<void> {
  const server = await startEmbeddedPostgres({ dataDir, port, database: 'catalog' });
  // No timeouts: seeding and vacuuming 1 000 000 products take longer than a request may.
  const db = createDatabase({ url: server.url, statementTimeoutMs: 0, queryTimeoutMs: 60 * 60_000 });
  try {
    await createMigrator(db).up();
    // F1 times commit → callback from each transaction's own commit time; the setting takes effect with the next start.
    await db.sequelize.query('ALTER SYSTEM SET track_commit_timestamp = on');
    await seed(db);
    // A run that stopped midway leaves its write workloads' products behind: every run starts from the same catalog, vacuumed.
    await db.sequelize.query(`DELETE FROM products WHERE name IN ('Бенчмарк товар', 'Бенчмарк идемпотентный') OR sku LIKE 'BENCH-BULK-%'`);
    await db.sequelize.query('DELETE FROM reservations WHERE reference = $1', { bind: [BENCH_REFERENCE] });
    const [[{ n }]] = (await db.sequelize.query('SELECT count(*)::int AS n FROM products')) as [[{ n: number }], unknown];
    if (n < PRODUCTS) {
      process.stderr.write(`seeding ${PRODUCTS - n} synthetic products…\n`);
      await seedSynthetic(db, PRODUCTS - n);
    }
    // Rewritten compact too: each run's 100 000-product bulk import and its deletion leave the table, its indexes and
    // the search copy's trigram index several times their size (products_category_id_price_quantity_idx: 26 MB after
    // a few runs against 7.7 MB fresh), which slowed W2's count by about a fifth.
    await db.sequelize.query('VACUUM (FULL) products, product_search');
    await db.sequelize.query('VACUUM ANALYZE');
    // What the deletes and the vacuum dirtied goes to disk now, not in a checkpoint in the middle of a workload.
    await db.sequelize.query('CHECKPOINT');
  } finally {
    await db.close();
    await server.stop();
  }
}

async function cannon(name: string, url: string, options: Partial<autocannon.Options>, connections = CONNECTIONS): Promise<Row> {
  const result = await autocannon({ url, connections, duration: DURATION, pipelining: 1, ...options });
  return {
    workload: name,
    connections,
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    requests: result.requests.total,
    ok: result['2xx'],
  };
}

/** The floor beneath the API: the W1 SELECT through the pg driver, at the same concurrency, no HTTP. */
async function pgFloor(url: string, ids: () => number): Promise<Row> {
  const pool = new pg.Pool({ connectionString: url, max: CONNECTIONS });
  const sql = `SELECT p.id, p.name, p.description, p.price, p.quantity, p.sku, p.category_id, c.name AS category_name,
                      p.created_at, p.updated_at
               FROM products p LEFT JOIN categories c ON c.id = p.category_id WHERE p.id = $1`;
  const latencies: number[] = [];
  let errors = 0;
  const deadline = Date.now() + DURATION * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (Date.now() < deadline) {
        const started = process.hrtime.bigint();
        try {
          await pool.query(sql, [ids()]);
        } catch {
          errors += 1;
        }
        latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
      }
    }),
  );
  await pool.end();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => Math.round((latencies[Math.floor(latencies.length * q)] ?? 0) * 100) / 100;
  return { workload: 'floor: pg driver SELECT by id', connections: CONNECTIONS, rps: Math.round(latencies.length / DURATION), p50: at(0.5), p99: at(0.99), errors, non2xx: 0, requests: latencies.length, ok: latencies.length - errors };
}

/** The floor beneath the server: bare node:http answering a fixed product JSON. */
async function httpFloor(): Promise<Row> {
  const port = await freePort();
  const body = JSON.stringify({ id: 1, name: 'Ноутбук', description: null, price: 1, quantity: 1, in_stock: true, sku: null, category_id: null, category: null, created_at: new Date().toISOString(), updated_at: new Date().toISOString() });
  const child = spawn(process.execPath, ['-e', `require('http').createServer((q,s)=>{s.setHeader('content-type','application/json');s.end(${JSON.stringify(body)})}).listen(${port},'127.0.0.1')`], { stdio: 'ignore' });
  try {
    await waitFor(`http://127.0.0.1:${port}/`, 5_000);
    return { ...(await cannon('floor: bare node:http fixed JSON', `http://127.0.0.1:${port}/`, {})), workload: 'floor: bare node:http fixed JSON' };
  } finally {
    child.kill();
  }
}

function rss(pid: number): Promise<number> {
  return readFile(`/proc/${pid}/status`, 'utf8').then(
    (status) => Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024,
    () => 0,
  );
}

async function main(): Promise<void> {
  const pgPort = await freePort();
  await prepare(pgPort);

  // Start as a user would, on the existing embedded database, and time the first 200 on /health.
  const port = await freePort();
  const spawned = Date.now();
  const { DATABASE_URL: _external, ...inherited } = process.env;
  // The same heap cap as `pnpm start`: V8 otherwise lets a busy process's heap grow well past 200 MB.
  const server: ChildProcess = spawn(process.execPath, ['--max-old-space-size=160', `${root}apps/server/dist/main.js`], {
    env: { ...inherited, PORT: String(port), EMBEDDED_PG_DIR: dataDir, EMBEDDED_PG_PORT: String(pgPort), LOG_LEVEL, WORKERS, DB_POOL_MAX: POOL, SEED_ON_START: 'false' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  server.once('exit', (code) => {
    if (code) process.exit(1);
  });
  // A bench that fails midway must not leave the server (and its embedded database, holding the data directory) running.
  process.once('exit', () => server.kill('SIGTERM'));
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${base}/health`, 30_000);
  const startMs = Date.now() - spawned;

  const admin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${pgPort}/catalog` });
  await admin.connect();
  // Random ids among the products that exist: every W1 and W4 request should find its row.
  const ids = (await admin.query<{ id: number }>('SELECT id FROM products')).rows.map((row) => row.id);
  const { rows: [electronics] } = await admin.query<{ id: number }>(`SELECT id FROM categories WHERE name = 'Электроника'`);
  const randomId = () => ids[Math.floor(Math.random() * ids.length)]!;
  const byId = (path: (id: number) => string) => ({ setupRequest: (request: autocannon.Request) => ({ ...request, path: path(randomId()) }) });
  const json = { 'content-type': 'application/json' };
  const filtered = `/products?category_id=${electronics!.id}&min_price=1000&max_price=50000&in_stock=true&sort_by=price&order=asc&limit=20`;
  const search = `/products/search?q=${encodeURIComponent('ноутбук')}&limit=20`;
  const releaseHeld = RESERVATIONS > 0 ? await holdReservations(admin, RESERVATIONS) : undefined;

  const rows: (Row & { rssMb: number })[] = [];
  let peakRss = 0;
  let workloadRss = 0;
  const sampler = setInterval(
    () =>
      void rss(server.pid!).then((mb) => {
        peakRss = Math.max(peakRss, mb);
        workloadRss = Math.max(workloadRss, mb);
      }),
    250,
  );
  const run = async (name: string, row: () => Promise<Row>) => {
    if (!selected(name)) return;
    workloadRss = 0;
    const result = await row();
    rows.push({ ...result, rssMb: Math.round(workloadRss) });
    process.stderr.write(`${result.workload}: ${result.rps} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms\n`);
  };

  const get = (name: string, path: string, connections?: number) => run(name, () => cannon(name, `${base}${path}`, {}, connections));
  await run('floor: pg driver SELECT by id', () => pgFloor(`postgres://postgres@127.0.0.1:${pgPort}/catalog`, randomId));
  await run('floor: bare node:http fixed JSON', httpFloor);
  await run('W1 GET /products/{id}', () => cannon('W1 GET /products/{id}', base, { requests: [{ method: 'GET', ...byId((id) => `/products/${id}`) }] }));
  await run('W1 tRPC products.byId', () =>
    cannon('W1 tRPC products.byId', base, { requests: [{ method: 'GET', ...byId((id) => `/trpc/products.byId?input=${encodeURIComponent(JSON.stringify({ id }))}`) }] }),
  );
  if (POOLER) {
    const directUrl = `postgres://postgres@127.0.0.1:${pgPort}/catalog`;
    const env = { ...inherited, LOG_LEVEL, WORKERS, DB_POOL_MAX: POOL };
    await run(POOLED_W1, () => pooledW1({ directUrl, env, poolSize: Number(POOL), cannon, byId, waitFor }));
    // Direct once more: the pooled row is compared with the mean of the runs before and after it (a shared machine drifts).
    await run(DIRECT_W1_AGAIN, () => cannon(DIRECT_W1_AGAIN, base, { requests: [{ method: 'GET', ...byId((id) => `/products/${id}`) }] }));
  }
  await get('W2 filtered page', filtered);
  await get('W2 filtered page', filtered, 1);
  await get('W2u unfiltered page, count=exact', '/products?limit=20&count=exact', 1);
  await get('W2c category-only page, count=exact', `/products?category_id=${electronics!.id}&limit=20&count=exact`, 1);
  await get('W3 search ноутбук', search);
  await get('W3 search ноутбук', search, 1);
  await get('W3e search ноутбук, count=estimated', `${search}&count=estimated`, 1);
  await get('W3q name filter ноутбук, count=estimated', `/products?q=${encodeURIComponent('ноутбук')}&limit=20&count=estimated`, 1);
  // Contract v1.3, search by words: a common word in another form, a typo, a layout slip, two words (count defaults to estimated).
  for (const q of ['ноутбуки', 'нотбук', 'yjen,er', 'lenovo ноутбук']) {
    const words = `/products/search?match=words&q=${encodeURIComponent(q)}&limit=20`;
    await get(`W6 words ${q}`, words);
    await get(`W6 words ${q}`, words, 1);
  }

  const { rows: [before] } = await admin.query<{ sum: string }>('SELECT sum(quantity) AS sum FROM products');
  // A fixed number of requests rather than a duration, so none is still in flight when the sums are compared.
  await run('W4 PATCH quantity +1', () =>
    cannon('W4 PATCH quantity +1', base, {
      amount: DURATION * 2_000,
      requests: [{ method: 'PATCH', headers: json, body: JSON.stringify({ delta: 1 }), ...byId((id) => `/products/${id}/quantity`) }],
    }),
  );
  const { rows: [after] } = await admin.query<{ sum: string }>('SELECT sum(quantity) AS sum FROM products');
  const increments = rows.find((row) => row.workload.startsWith('W4'))?.ok ?? 0;
  const invariant = BigInt(after!.sum) - BigInt(before!.sum) === BigInt(increments);

  const create = JSON.stringify({ name: 'Бенчмарк товар', price: 99.99, quantity: 1 });
  await run('W5 POST /products', () => cannon('W5 POST /products', base, { requests: [{ method: 'POST', path: '/products', headers: json, body: create }] }));
  await run('W5 tRPC products.create', () => cannon('W5 tRPC products.create', base, { requests: [{ method: 'POST', path: '/trpc/products.create', headers: json, body: create }] }));
  await run('R1 reserve + commit, 3 items (2 requests each)', () => reserveAndCommit(base, cannon, randomId));
  await releaseHeld?.();
  await feedWorkloads({ base, admin, pid: server.pid!, cannon, run, rss, log: (line) => process.stderr.write(`${line}\n`) });
  clearInterval(sampler);
  await admin.query(`DELETE FROM products WHERE name = 'Бенчмарк товар'`);
  const safe = process.env.BENCH_SAFE_WRITES === 'false' ? undefined : await safeWrites(base, cannon, admin, DURATION);
  clearInterval(sampler);
  await admin.end();

  server.kill('SIGTERM');
  await new Promise((resolve) => server.once('exit', resolve));
  // Contract v1.3: reads on a streaming replica, on a cluster of its own (BENCH_REPLICA=1).
  const replica = process.env.BENCH_REPLICA === '1' ? await replicaBench({ root, cannon, products: Math.min(PRODUCTS, 20_000), pool: POOL }) : undefined;

  const pgFloorRps = rows[0]!.rps;
  const httpFloorRps = rows[1]!.rps;
  const table = rows.map((row) => ({
    ...row,
    vs_pg_floor: `${Math.round((row.rps / pgFloorRps) * 100)}%`,
    vs_http_floor: `${Math.round((row.rps / httpFloorRps) * 100)}%`,
  }));
  console.log(`\nTradeOS Catalog benchmark: ${PRODUCTS} products, ${DURATION} s per workload, workers ${WORKERS}, pool ${POOL}, LOG_LEVEL ${LOG_LEVEL}, ${RESERVATIONS} active reservations held`);
  console.log('| workload | conns | req/s | p50 ms | p99 ms | errors | non-2xx | vs pg floor | vs http floor | server RSS MB |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const row of table) {
    console.log(
      `| ${row.workload} | ${row.connections} | ${row.rps} | ${row.p50} | ${row.p99} | ${row.errors} | ${row.non2xx} | ${row.vs_pg_floor} | ${row.vs_http_floor} | ${row.workload.startsWith('floor') ? '–' : row.rssMb} |`,
    );
  }
  for (const [rest, rpc] of [['W1 GET /products/{id}', 'W1 tRPC products.byId'], ['W5 POST /products', 'W5 tRPC products.create']]) {
    const [a, b] = [rows.find((row) => row.workload === rest), rows.find((row) => row.workload === rpc)];
    if (a && b) console.log(`${rpc} vs REST: ${Math.round((b.rps / a.rps - 1) * 100)}% req/s`);
  }
  const direct = rows.filter((row) => row.workload === 'W1 GET /products/{id}' || row.workload === DIRECT_W1_AGAIN);
  const pooled = rows.find((row) => row.workload === POOLED_W1);
  if (direct.length === 2 && pooled) {
    const mean = (direct[0]!.rps + direct[1]!.rps) / 2;
    console.log(`W1 through PgBouncer (transaction) vs direct (mean of before and after): ${Math.round((pooled.rps / mean - 1) * 100)}% req/s (target: within 15 %)`);
  }
  console.log(`\nstart to first 200 on /health (existing embedded database): ${startMs} ms`);
  console.log(`server peak RSS: ${Math.round(peakRss)} MB (main process)`);
  console.log(`W4 quantity invariant (sum grew by exactly the successful increments): ${invariant ? 'holds' : 'BROKEN'}`);
  if (safe) {
    console.log('\n| safe writes (v1.2) | conns | req/s | p50 ms | p99 ms | errors | non-2xx |\n|---|---:|---:|---:|---:|---:|---:|');
    for (const row of safe.rows) console.log(`| ${row.workload} | ${row.connections} | ${row.rps} | ${row.p50} | ${row.p99} | ${row.errors} | ${row.non2xx} |`);
    console.log(`idempotent POST vs plain POST: ${Math.round(safe.idempotentVsPlain * 100)}% of the req/s (target ≥ 85%)`);
    console.log(`page 10 000 by cursor vs page 1: ${safe.deepVsFirstPage.toFixed(2)}× the time per request, one connection (target ≤ 2×)`);
    console.log(`POST /products/bulk: ${safe.bulk.products} products in ${safe.bulk.requests} requests, ${safe.bulk.seconds.toFixed(1)} s, ${safe.bulk.failed} failed (target < 10 s)`);
  }
  if (replica) {
    console.log('\n| replicas (v1.3), PG 15 on this host | conns | req/s | p50 ms | p99 ms | errors | non-2xx |\n|---|---:|---:|---:|---:|---:|---:|');
    for (const row of replica.rows) console.log(`| ${row.workload} | ${row.connections} | ${row.rps} | ${row.p50} | ${row.p99} | ${row.errors} | ${row.non2xx} |`);
    const { pairs, positioned, unpositioned, extra, stale } = replica.wait;
    console.log(`read-your-writes, ${pairs} PATCH→GET pairs on one connection: GET with the write's position p50 ${positioned.p50} / p99 ${positioned.p99} ms, without p50 ${unpositioned.p50} / p99 ${unpositioned.p99} ms; extra time p50 ${extra.p50} / p99 ${extra.p99} ms; stale reads ${stale}`);
  }
  const file = `${root}bench/results/${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  await writeFile(file, JSON.stringify({ date: new Date().toISOString(), duration: DURATION, connections: CONNECTIONS, products: PRODUCTS, workers: WORKERS, pool: POOL, logLevel: LOG_LEVEL, startMs, peakRssMb: Math.round(peakRss), w4Invariant: invariant, rows: table, safeWrites: safe, replica }, null, 2));
  console.log(`written ${file}`);
  if (!invariant || rows.some((row) => row.errors > 0) || (safe && safe.bulk.failed > 0) || (replica && (replica.wait.stale > 0 || replica.rows.some((row) => row.errors > 0)))) process.exitCode = 1;
}

await main();
