/**
 * `schema/`: what the database holds and how it gets there: the Sequelize models (`models/`), the migrations
 * (`migrations/`, one file each, applied in name order) and the migrator (this file). May import `connection/`
 * (the handle, the client) and `errors`; nothing of `store/`, `feed/`, `ops/`.
 *
 * Umzug over our own migration files, serialized across processes by a PostgreSQL advisory lock.
 * Each migration and its bookkeeping row commit in one transaction; names carry no file extension,
 * so the compiled `.js` files in production match the `.ts` files applied in development.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Sequelize, type Transaction } from 'sequelize';
import { Umzug, type UmzugStorage } from 'umzug';
import { SessionClient, sequelizeDialect } from '../connection/clients.js';
import { within, type Database } from '../connection/database.js';

export interface MigrationContext {
  /** Runs SQL (several statements allowed) inside this migration's transaction. */
  sql: (statement: string) => Promise<void>;
  transaction: Transaction;
}

export type Migration = (params: { name: string; context: MigrationContext }) => Promise<void>;

interface MigrationModule {
  up: Migration;
  down: Migration;
}

export const MIGRATIONS_TABLE = 'schema_migrations';
const migrationsDir = fileURLToPath(new URL('./migrations/', import.meta.url));
/** Where the TypeScript sources live in a checkout; absent in a deployed package, which holds only dist/. */
export const migrationSourcesDir = fileURLToPath(new URL('../../src/schema/migrations/', import.meta.url));
// Arbitrary but fixed: every process of this service contends for the same lock.
const LOCK_KEY = 727_361_001;

export interface MigrationStatus {
  executed: string[];
  pending: string[];
}

export interface Migrator {
  /** Applies every pending migration; returns the names applied. */
  up(): Promise<string[]>;
  /** Reverts the last `step` migrations, or all of them with `{ to: 0 }`; returns the names reverted. */
  down(options: { step: number } | { to: 0 }): Promise<string[]>;
  status(): Promise<MigrationStatus>;
}

async function namesIn(dir: string, extension: string): Promise<string[]> {
  return (await readdir(dir))
    .filter((file) => file.endsWith(extension) && !file.endsWith(`.d${extension}`) && !file.includes('.test.'))
    .map((file) => basename(file, extension))
    .sort();
}

async function migrationFiles(): Promise<{ name: string; path: string }[]> {
  // Run from src (tsx, vitest) we load the .ts files; compiled, the .js ones beside us.
  const extension = extname(fileURLToPath(import.meta.url));
  // Compiled in a checkout, the sources decide which migrations exist: a compiled file whose source was
  // deleted is stale build output, never a migration.
  const fromSources = extension === '.js' && existsSync(migrationSourcesDir);
  const names = await namesIn(fromSources ? migrationSourcesDir : migrationsDir, fromSources ? '.ts' : extension);
  return names.map((name) => ({ name, path: join(migrationsDir, `${name}${extension}`) }));
}

/**
 * The bookkeeping table, created in the transaction of the first migration that records itself: a first migration
 * that fails (a database that cannot fold Cyrillic case) leaves no empty `schema_migrations` behind.
 */
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`;

function storage(sequelize: Sequelize): UmzugStorage {
  return {
    async executed() {
      const [[table]] = (await sequelize.query('SELECT to_regclass($1) IS NOT NULL AS present', { bind: [MIGRATIONS_TABLE] })) as [{ present: boolean }[], unknown];
      if (!table?.present) return [];
      const [rows] = await sequelize.query(`SELECT name FROM ${MIGRATIONS_TABLE} ORDER BY name`);
      return (rows as { name: string }[]).map((row) => row.name);
    },
    // The row is already written inside the migration's own transaction (see `record`); these keep Umzug's
    // bookkeeping idempotent.
    async logMigration({ name }) {
      await sequelize.query(`INSERT INTO ${MIGRATIONS_TABLE} (name) VALUES ($1) ON CONFLICT DO NOTHING`, { bind: [name] });
    },
    async unlogMigration({ name }) {
      await sequelize.query(`DELETE FROM ${MIGRATIONS_TABLE} WHERE name = $1`, { bind: [name] });
    },
  };
}

function umzug(sequelize: Sequelize, logger: Logger) {
  const run = (name: string, migration: Migration, direction: 'up' | 'down') =>
    sequelize.transaction(async (transaction) => {
      const sql = async (statement: string) => {
        await sequelize.query(statement, { transaction });
      };
      // The service's statement timeout guards requests; a migration (an index on a big table) may take longer.
      await sql('SET LOCAL statement_timeout = 0');
      await migration({ name, context: { sql, transaction } });
      await sql(CREATE_MIGRATIONS_TABLE);
      const record =
        direction === 'up'
          ? `INSERT INTO ${MIGRATIONS_TABLE} (name) VALUES ($1)`
          : `DELETE FROM ${MIGRATIONS_TABLE} WHERE name = $1`;
      await sequelize.query(record, { bind: [name], transaction });
    });

  return new Umzug<object>({
    migrations: async () =>
      (await migrationFiles()).map(({ name, path }) => {
        const load = () => import(pathToFileURL(path).href) as Promise<MigrationModule>;
        return {
          name,
          path,
          up: async () => run(name, (await load()).up, 'up'),
          down: async () => run(name, (await load()).down, 'down'),
        };
      }),
    context: {},
    storage: storage(sequelize),
    logger: {
      info: (event: Record<string, unknown>) => {
        if (event.event === 'migrated' || event.event === 'reverted') logger(`${String(event.event)} ${String(event.name)}`);
      },
      warn: (event: Record<string, unknown>) => logger(JSON.stringify(event)),
      error: (event: Record<string, unknown>) => logger(JSON.stringify(event)),
      debug: () => undefined,
    },
  });
}

type Logger = (line: string) => void;

/**
 * Holds the session-level advisory lock on one dedicated connection (not a pooled one) while `fn` runs: on the
 * direct URL, since behind a transaction pooler a session lock would stay with a server connection others reuse.
 */
async function withLock<T>(db: Database, fn: () => Promise<T>): Promise<T> {
  const client = new SessionClient({
    connectionString: db.directUrl,
    application_name: 'tradeos-catalog-migrator',
    connectionTimeoutMillis: db.connectTimeoutMs,
  });
  try {
    await client.connect();
  } catch (error) {
    // A refused login leaves the socket open until the server's authentication_timeout (60 s): close it now.
    await client.end().catch(() => undefined);
    throw error;
  }
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    try {
      return await fn();
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]);
    }
  } finally {
    await client.end();
  }
}

/**
 * Applied and pending migrations, read without the lock and without creating anything, so a health check
 * or a read-only role can ask. Each migration commits with its row, so the answer is never half-applied.
 */
async function migrationStatus(query: Database['probe']): Promise<MigrationStatus> {
  const [table] = await query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [MIGRATIONS_TABLE]);
  const executed = table?.present ? (await query<{ name: string }>(`SELECT name FROM ${MIGRATIONS_TABLE} ORDER BY name`)).map((row) => row.name) : [];
  const applied = new Set(executed);
  return { executed, pending: (await migrationFiles()).map(({ name }) => name).filter((name) => !applied.has(name)) };
}

/** Whether migrations are pending, for /health: false when it cannot tell within `timeoutMs`; never throws. */
export function hasPendingMigrations(db: Database, timeoutMs = 2_000): Promise<boolean> {
  // On the control connection, like the ping beside it: a saturated pool must not delay /health.
  const check = migrationStatus((sql, binds) => db.probe(sql, binds)).then(
    ({ pending }) => pending.length > 0,
    () => false,
  );
  return within(check, timeoutMs, false);
}

/**
 * Runs `fn` with Umzug on a connection of the migrations' own: the service's pools carry a client-side query
 * timeout meant for requests, and a migration's backfill or index build over a large table outlasts it.
 */
async function withMigrationConnection<T>(db: Database, logger: Logger, fn: (migrator: ReturnType<typeof umzug>) => Promise<T>): Promise<T> {
  const sequelize = new Sequelize(db.directUrl, {
    dialect: 'postgres',
    logging: false,
    pool: { max: 1, min: 0 },
    dialectModule: sequelizeDialect,
    dialectOptions: { connectionTimeoutMillis: db.connectTimeoutMs, application_name: 'tradeos-catalog-migrator' },
  });
  try {
    return await fn(umzug(sequelize, logger));
  } finally {
    await sequelize.close();
  }
}

export function createMigrator(db: Database, logger: Logger = () => undefined): Migrator {
  const names = (migrations: { name: string }[]) => migrations.map((m) => m.name);
  return {
    up: () => withLock(db, () => withMigrationConnection(db, logger, async (migrator) => names(await migrator.up()))),
    down: (options) => withLock(db, () => withMigrationConnection(db, logger, async (migrator) => names(await migrator.down(options)))),
    status: () => migrationStatus((sql, binds) => db.query(sql, binds)),
  };
}

export const migrationTemplate = `import type { Migration } from '../migrator.js';

export const up: Migration = async ({ context: { sql } }) => {
  await sql(\`\`);
};

export const down: Migration = async ({ context: { sql } }) => {
  await sql(\`\`);
};
`;
