/**
 * Test support for every package: a PostgreSQL server for a test run (the one in TEST_DATABASE_URL, or
 * a throwaway embedded one) and a fresh database per test file, dropped afterwards. Never DATABASE_URL.
 */
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { SessionClient } from './connection/clients.js';
import { DATABASE_DEFAULTS } from './config.js';
import { createDatabase, type Database, type DatabaseOptions } from './connection/database.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './ops/embedded.js';
import type {} from 'vitest';
import { createMigrator } from './schema/migrator.js';

export { isAlive } from './ops/embedded.js';

// What the shared vitest global setup (tooling/global-setup.ts) provides to every test file.
declare module 'vitest' {
  export interface ProvidedContext {
    /** A URL on the test server whose role may create and drop databases. */
    adminUrl: string;
    /**
     * PgBouncer in transaction mode in front of that server (`TEST_POOLER=transaction`, tooling/pooler-setup.ts) as
     * `adminUrl` through it; empty or absent: none.
     */
    poolerUrl?: string;
  }
}

export interface TestServer {
  /** A URL on the server whose role may create and drop databases. */
  adminUrl: string;
  stop(): Promise<void>;
}

/** An embedded server in a fresh temp directory, removed again by `stop()`. */
async function throwawayServer(prefix: string): Promise<{ server: EmbeddedPostgres; dataDir: string; stop: () => Promise<void> }> {
  const dataDir = join(tmpdir(), `${prefix}-${randomBytes(6).toString('hex')}`);
  const server = await startEmbeddedPostgres({ dataDir, port: 0 });
  return {
    server,
    dataDir,
    stop: async () => {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export async function startTestServer(testDatabaseUrl?: string): Promise<TestServer> {
  if (testDatabaseUrl) return { adminUrl: testDatabaseUrl, stop: () => Promise.resolve() };
  const { server, stop } = await throwawayServer('tradeos-test-pg');
  return { adminUrl: server.adminUrl, stop };
}

/**
 * A throwaway server that demands a password (SCRAM) from every TCP client, as managed PostgreSQL does.
 * `url` names the role without its password, as an operator's incomplete DATABASE_URL would.
 */
export async function startPasswordServer(password: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const { server, dataDir, stop } = await throwawayServer('tradeos-scram-pg');
  await admin(server.adminUrl, async (client) => {
    await client.query(`ALTER ROLE postgres PASSWORD ${client.escapeLiteral(password)}`);
    await writeFile(join(dataDir, 'pg_hba.conf'), 'host all all 127.0.0.1/32 scram-sha-256\n');
    await client.query('SELECT pg_reload_conf()');
  });
  return { url: server.adminUrl, stop };
}

export interface TestDatabase {
  url: string;
  drop: () => Promise<void>;
}

export function withDatabaseName(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

async function admin<T>(adminUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new SessionClient({ connectionString: adminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates an empty UTF-8 database whose ctype folds Cyrillic, even on a server whose default locale is `C`. */
export async function createTestDatabase(adminUrl: string, prefix = 'test'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await admin(adminUrl, async (client) => {
    const { rows } = await client.query<{ folds: boolean }>(`SELECT lower('Ж') = 'ж' AS folds`);
    const locale = rows[0]?.folds ? '' : ` LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'`;
    await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)} TEMPLATE template0 ENCODING 'UTF8'${locale}`);
  });
  return {
    url: withDatabaseName(adminUrl, name),
    drop: () => admin(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`)).then(() => undefined),
  };
}

/** `url` with the host and port of `poolerUrl`: the same database and role, through the pooler. */
function throughPooler(url: string, poolerUrl: string): string {
  const parsed = new URL(url);
  parsed.host = new URL(poolerUrl).host;
  return parsed.toString();
}

/**
 * How the service is configured behind PgBouncer in transaction mode for the test database at `url`: the pooler's
 * URL, the direct one, and the server-side statement timeout as the database's setting (what an operator sets on
 * the role: no startup parameter passes PgBouncer).
 */
export async function pooledDatabase(url: string, poolerUrl: string, statementTimeoutMs: number): Promise<Pick<DatabaseOptions, 'url' | 'directUrl' | 'pooler'>> {
  await admin(url, (client) => client.query(`ALTER DATABASE ${pg.escapeIdentifier(decodeURIComponent(new URL(url).pathname.slice(1)))} SET statement_timeout = ${Math.trunc(statementTimeoutMs)}`));
  return { url: throughPooler(url, poolerUrl), directUrl: url, pooler: 'transaction' };
}

/**
 * A fresh, migrated database with its handle (opened with `options`, through `poolerUrl` in transaction mode when
 * given); `drop()` closes the handle and removes the database.
 */
export async function createMigratedDatabase(adminUrl: string, options: Omit<DatabaseOptions, 'url'> = {}, poolerUrl?: string): Promise<{ db: Database; drop: () => Promise<void> }> {
  const database = await createTestDatabase(adminUrl);
  const where = poolerUrl ? await pooledDatabase(database.url, poolerUrl, options.statementTimeoutMs ?? DATABASE_DEFAULTS.statementTimeoutMs) : { url: database.url };
  const db = createDatabase({ ...options, ...where });
  await createMigrator(db).up();
  return {
    db,
    async drop() {
      await db.close();
      await database.drop();
    },
  };
}
