/**
 * The replica rows of `pnpm bench` (contract v1.3, BENCH_REPLICA=1): on a PostgreSQL 15 primary and a streaming
 * replica of the same host (tooling/cluster/postgres.ts), W1 served by a server reading from the primary and by one
 * reading from the replica, side by side in one run (same host, so no faster: it shows what the routed path costs),
 * and the read-your-writes wait: how much longer a read with the position its write just got takes than the same
 * read without one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type autocannon from 'autocannon';
import { freePort, seed, seedSynthetic } from '@tradeos/db';
import { openClusterDatabase, startCluster } from '../tooling/cluster/postgres.js';
import type { Row } from './run.js';

type Cannon = (name: string, url: string, options: Partial<autocannon.Options>, connections?: number) => Promise<Row>;

export interface ReplicaBench {
  rows: Row[];
  /** Per write→read pair, milliseconds: the read with the write's position, the same read without, and the difference. */
  wait: { pairs: number; positioned: Percentiles; unpositioned: Percentiles; extra: Percentiles; stale: number };
}

interface Percentiles {
  p50: number;
  p99: number;
}

const PAIRS = 2_000;

function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => Math.round((sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0) * 100) / 100;
  return { p50: at(0.5), p99: at(0.99) };
}

/** The built server on `databaseUrl` (its reads on `replicaUrls` when given); resolves once /health answers 200. */
async function serve(root: string, databaseUrl: string, pool: string, replicaUrls: string[] = []): Promise<{ base: string; child: ChildProcess }> {
  const port = await freePort();
  const { DATABASE_URL: _url, DATABASE_REPLICA_URLS: _replicas, ...inherited } = process.env;
  const child = spawn(process.execPath, ['--max-old-space-size=160', `${root}apps/server/dist/main.js`], {
    env: { ...inherited, PORT: String(port), DATABASE_URL: databaseUrl, DATABASE_REPLICA_URLS: replicaUrls.join(','), DB_POOL_MAX: pool, LOG_LEVEL: 'warn', WORKERS: '1', SEED_ON_START: 'false' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  process.once('exit', () => child.kill('SIGTERM'));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i += 1) {
    if (await fetch(`${base}/health`).then((r) => r.ok, () => false)) return { base, child };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the replica bench server did not start');
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
}

/** PAIRS write→read pairs on one product: PATCH its quantity, then GET it with the PATCH's position and without. */
async function readYourWrites(base: string, id: number): Promise<ReplicaBench['wait']> {
  const positioned: number[] = [];
  const unpositioned: number[] = [];
  const extra: number[] = [];
  let stale = 0;
  for (let i = 0; i < PAIRS; i += 1) {
    const written = await fetch(`${base}/products/${id}/quantity`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ delta: 1 }) });
    const { quantity } = (await written.json()) as { quantity: number };
    const position = written.headers.get('x-catalog-position')!;
    let started = performance.now();
    const read = (await (await fetch(`${base}/products/${id}`, { headers: { 'x-catalog-min-position': position } })).json()) as { quantity: number };
    const withPosition = performance.now() - started;
    started = performance.now();
    await (await fetch(`${base}/products/${id}`)).arrayBuffer();
    const without = performance.now() - started;
    if (read.quantity !== quantity) stale += 1;
    positioned.push(withPosition);
    unpositioned.push(without);
    extra.push(withPosition - without);
  }
  return { pairs: PAIRS, positioned: percentiles(positioned), unpositioned: percentiles(unpositioned), extra: percentiles(extra), stale };
}

export async function replicaBench({ root, cannon, products, pool }: { root: string; cannon: Cannon; products: number; pool: string }): Promise<ReplicaBench> {
  const cluster = await startCluster();
  try {
    const database = await openClusterDatabase(cluster, { statementTimeoutMs: 0, queryTimeoutMs: 60 * 60_000 });
    await seed(database.db);
    await seedSynthetic(database.db, products);
    const ids = (await database.db.query<{ id: number }>('SELECT id FROM products')).map((row) => row.id);
    await database.db.query('VACUUM ANALYZE');
    await cluster.caughtUp();
    await database.db.close();
    const randomId = () => ids[Math.floor(Math.random() * ids.length)]!;
    const w1 = { requests: [{ method: 'GET' as const, setupRequest: (request: autocannon.Request) => ({ ...request, path: `/products/${randomId()}` }) }] };
    const rows: Row[] = [];
    const direct = await serve(root, database.url, pool);
    try {
      rows.push(await cannon('W1 GET /products/{id}, PG 15 primary', direct.base, w1));
    } finally {
      await stop(direct.child);
    }
    const routed = await serve(root, database.url, pool, database.replicaUrls);
    try {
      rows.push(await cannon('W1 GET /products/{id}, reads on the replica', routed.base, w1));
      return { rows, wait: await readYourWrites(routed.base, ids[0]!) };
    } finally {
      await stop(routed.child);
    }
  } finally {
    await cluster.stop();
  }
}
