/** A live server on a fresh migrated database, for tests that speak real HTTP. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { freePort, seed, type Database, type DatabaseOptions } from '@tradeos/db';
import { createMigratedDatabase, createTestDatabase, pooledDatabase } from '@tradeos/db/testing';
import type { FastifyInstance } from 'fastify';
import { expect, inject } from 'vitest';
import { buildApp, type AppOptions } from '../src/app.js';

export interface LiveServer {
  base: string;
  db: Database;
  app: FastifyInstance;
  close: () => Promise<void>;
}

export interface ServerOptions extends Partial<Omit<AppOptions, 'db'>> {
  /** Fill the catalog as `pnpm db:seed` does (4 categories, 48 products) before serving. */
  seeded?: boolean;
  /** How the fresh database's handle is opened (pool size, timeouts). */
  database?: Omit<DatabaseOptions, 'url'>;
  /** Serve this handle instead of a fresh database; the caller keeps it (`close()` leaves it open). */
  db?: Database;
}

export async function startServer({ seeded = false, database, db: given, ...options }: ServerOptions = {}): Promise<LiveServer> {
  const { db, drop } = given ? { db: given, drop: () => Promise.resolve() } : await createMigratedDatabase(inject('adminUrl'), database, inject('poolerUrl') || undefined);
  if (seeded) await seed(db);
  const app = buildApp({ db, ...options });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    db,
    app,
    close: async () => {
      await app.close();
      await drop();
    },
  };
}

/** Options for another handle on the same database, reached the same way (directly, or through the run's pooler). */
export function sameDatabase(db: Database): DatabaseOptions {
  return { url: db.url, directUrl: db.directUrl, pooler: db.pooler };
}

export interface JsonResponse {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

/** fetch that sends JSON bodies and parses JSON answers. */
export async function call(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<JsonResponse> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
  }
  const response = await fetch(`${base}${path}`, init);
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, body: parsed, text };
}

/**
 * The contract's busy answer (v1.3, busy is not down): a 503 with `Retry-After: 1`; over REST (`body` given) the
 * contract's error saying nothing was changed.
 */
export function expectBusy(answer: { status: number; headers: Headers }, what: string, body?: unknown): void {
  expect(answer.status, what).toBe(503);
  expect(answer.headers.get('retry-after'), what).toBe('1');
  if (body !== undefined) expect(body, what).toEqual({ code: 'SERVICE_UNAVAILABLE', message: expect.stringMatching(/busy.*nothing was changed/) as string });
}

export interface SpawnedServer {
  base: string;
  port: number;
  /** What the process printed so far. */
  output: () => string;
  /** False once the process has exited. */
  running: () => boolean;
  stop: () => Promise<void>;
}

export interface SpawnOptions {
  /** Serve this database (on a PostgreSQL the caller owns) instead of a fresh one on the shared test server. */
  databaseUrl?: string;
  /** With `databaseUrl`: the database variables as given (a pooler, a direct URL, replicas), not `DATABASE_URL` alone. */
  connection?: Record<string, string>;
}

/** The server's database variables for `url`: through the run's PgBouncer in transaction mode when there is one. */
async function databaseEnv(url: string, pooled: boolean, statementTimeoutMs: string | undefined): Promise<Record<string, string>> {
  const poolerUrl = inject('poolerUrl');
  if (!pooled || !poolerUrl) return { DATABASE_URL: url };
  const where = await pooledDatabase(url, poolerUrl, Number(statementTimeoutMs ?? 10_000));
  return { DATABASE_URL: where.url, DATABASE_POOLER: 'transaction', DATABASE_DIRECT_URL: url };
}

/**
 * The server as its own process, from source (src/main.ts under tsx), on a fresh database: for what
 * only shows between two processes (resets on a real socket, node:cluster workers).
 */
export async function spawnServer(env: Record<string, string> = {}, { databaseUrl, connection: given }: SpawnOptions = {}): Promise<SpawnedServer> {
  const database = databaseUrl ? { url: databaseUrl, drop: () => Promise.resolve() } : await createTestDatabase(inject('adminUrl'));
  const connection = given ?? (await databaseEnv(database.url, !databaseUrl, env.DB_STATEMENT_TIMEOUT_MS));
  const port = await freePort();
  const main = new URL('../src/main.ts', import.meta.url).pathname;
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    env: {
      ...process.env,
      API_KEYS: '',
      RATE_LIMIT_MAX: '0',
      WORKERS: '1',
      SEED_ON_START: 'false',
      LOG_LEVEL: 'warn',
      ...env,
      ...connection,
      MIGRATE_ON_START: 'true',
      PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit');
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300 && child.exitCode === null && !(await fetch(`${base}/health`).then((r) => r.ok, () => false)); i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (child.exitCode !== null) throw new Error(`server exited: ${output}`);
  return {
    base,
    port,
    output: () => output,
    running: () => child.exitCode === null && child.signalCode === null,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      await database.drop();
    },
  };
}

/** Every page of `GET /events` after `after` (from the oldest event kept when omitted) up to the newest event. */
export async function feedPages(base: string, after?: string, types?: string): Promise<JsonResponse[]> {
  const pages: JsonResponse[] = [];
  for (let cursor = after; ; ) {
    const page = await call(base, 'GET', `/events?limit=1000${cursor === undefined ? '' : `&after=${cursor}`}${types === undefined ? '' : `&types=${types}`}`);
    pages.push(page);
    const { items, next_after } = page.body as { items?: unknown[]; next_after?: string };
    if (page.status !== 200 || !items?.length) return pages;
    cursor = next_after;
  }
}

/** The document's schema for an event of this type: the component its discriminator maps the type to, as a generated client narrows. */
export function eventSchema(schemas: Record<string, Record<string, unknown>>, type: string): { $ref: string } | undefined {
  const { mapping } = (schemas.ChangeEvent?.discriminator ?? {}) as { mapping?: Record<string, string> };
  const ref = mapping?.[type];
  return ref === undefined ? undefined : { $ref: ref };
}
