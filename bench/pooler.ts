/**
 * `pnpm bench` with BENCH_POOLER=1: W1 through PgBouncer in transaction mode (contract v1.3), beside W1 direct in the
 * same run. A second server process, configured as a deployment behind the pooler would be (DATABASE_POOLER=
 * transaction, DATABASE_DIRECT_URL for the feed), serves the same database through PgBouncer 1.18 (tooling/cluster).
 * The price it shows: one more hop, and no named statements (W1's read is a call of a PL/pgSQL function instead, whose
 * query each server connection plans once: migration 2026.12.06T23.00.00).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type autocannon from 'autocannon';
import { freePort } from '@tradeos/db';
import { startPgBouncer } from '../tooling/cluster/pgbouncer.js';
import type { Row } from './run.js';

export interface PoolerBench {
  /** The embedded PostgreSQL the main server uses, and its database URL as the postgres role. */
  directUrl: string;
  /** The main server's settings, which the pooled one shares. */
  env: Record<string, string | undefined>;
  /** Server connections PgBouncer may open: the direct server's read pool size, so both have as many. */
  poolSize: number;
  cannon: (name: string, url: string, options: Partial<autocannon.Options>, connections?: number) => Promise<Row>;
  byId: (path: (id: number) => string) => Partial<autocannon.Request>;
  waitFor: (url: string, timeoutMs: number) => Promise<number>;
}

export const POOLED_W1 = 'W1 GET /products/{id} through PgBouncer (transaction)';

/** Runs W1 against a second server whose DATABASE_URL is PgBouncer in transaction mode; stops both after. */
export async function pooledW1({ directUrl, env, poolSize, cannon, byId, waitFor }: PoolerBench): Promise<Row> {
  const direct = new URL(directUrl);
  const bouncer = await startPgBouncer({ host: direct.hostname, port: Number(direct.port), users: [direct.username], poolSize });
  const port = await freePort();
  const server = spawn(process.execPath, ['--max-old-space-size=160', new URL('../apps/server/dist/main.js', import.meta.url).pathname], {
    env: {
      ...env,
      PORT: String(port),
      DATABASE_URL: bouncer.through(directUrl),
      DATABASE_POOLER: 'transaction',
      DATABASE_DIRECT_URL: directUrl,
      MIGRATE_ON_START: 'false',
      SEED_ON_START: 'false',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = once(server, 'exit');
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitFor(`${base}/health`, 30_000);
    return await cannon(POOLED_W1, base, { requests: [{ method: 'GET', ...byId((id) => `/products/${id}`) }] });
  } finally {
    server.kill('SIGTERM');
    await exited;
    await bouncer.stop();
  }
}
