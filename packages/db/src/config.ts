/**
 * The database settings every entry point reads (the server's env.ts and the CLI): one zod schema, one set
 * of defaults, and the one place that chooses between DATABASE_URL and the embedded server.
 */
import { z } from 'zod';
import type { DatabaseOptions, Pooler } from './connection/database.js';
import { DEFAULT_EMBEDDED_PORT, defaultDataDir, startEmbeddedPostgres, type EmbeddedPostgres } from './ops/embedded.js';

/** An environment as `process.env` gives it; an empty value means unset. */
export type EnvSource = Record<string, string | undefined>;

export const DATABASE_DEFAULTS = {
  poolMax: 10,
  acquireTimeoutMs: 2_000,
  statementTimeoutMs: 10_000,
  connectTimeoutMs: 5_000,
  replicaMaxLagMs: 1_000,
  embeddedDir: defaultDataDir,
  embeddedPort: DEFAULT_EMBEDDED_PORT,
} as const;

const milliseconds = (min: number, fallback: number) => z.coerce.number().int().min(min).default(fallback);

/** The database variables; an entry point may spread them into its own schema. */
export const databaseEnv = {
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL' }).optional(),
  /** What DATABASE_URL points at: PostgreSQL or a session pooler (`session`), or a pooler in transaction mode. */
  DATABASE_POOLER: z.enum(['session', 'transaction']).default('session'),
  /** PostgreSQL itself, past the pooler: migrations, their lock, the feed's LISTEN and horizon. */
  DATABASE_DIRECT_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL' }).optional(),
  /** Contract v1.3: streaming replicas for reads, comma-separated postgres:// URLs. */
  DATABASE_REPLICA_URLS: z
    .string()
    .optional()
    .transform((value) => (value ?? '').split(',').map((url) => url.trim()).filter(Boolean))
    .refine((urls) => urls.every((url) => /^postgres(ql)?:\/\//.test(url) && URL.canParse(url)), 'must be comma-separated postgres:// URLs'),
  REPLICA_MAX_LAG_MS: milliseconds(0, DATABASE_DEFAULTS.replicaMaxLagMs),
  DB_POOL_MAX: z.coerce.number().int().min(1).max(1000).default(DATABASE_DEFAULTS.poolMax),
  DB_POOL_ACQUIRE_TIMEOUT_MS: milliseconds(100, DATABASE_DEFAULTS.acquireTimeoutMs),
  DB_STATEMENT_TIMEOUT_MS: milliseconds(0, DATABASE_DEFAULTS.statementTimeoutMs),
  DB_CONNECT_TIMEOUT_MS: milliseconds(100, DATABASE_DEFAULTS.connectTimeoutMs),
  EMBEDDED_PG_DIR: z.string().min(1).default(DATABASE_DEFAULTS.embeddedDir),
  EMBEDDED_PG_PORT: z.coerce.number().int().min(1).max(65_535).default(DATABASE_DEFAULTS.embeddedPort),
};

export interface DatabaseConfig {
  /** The external server; unset means the embedded one. */
  url: string | undefined;
  /** `transaction`: `url` is PgBouncer in transaction mode (see `connection/pooler.ts`). */
  pooler: Pooler;
  /** The server past the pooler, for what needs a session of its own; unset means `url`. */
  directUrl: string | undefined;
  embedded: { dataDir: string; port: number };
  pool: { max: number; acquireTimeoutMs: number };
  statementTimeoutMs: number;
  connectTimeoutMs: number;
  /** Streaming replicas for reads (none: every read on the primary) and how far behind one may be. */
  replicas: { urls: string[]; maxLagMs: number };
}

/** A configuration problem, as the one line an operator sees: `invalid configuration: VARIABLE: reason`. */
export class ConfigError extends Error {}

/** Parses the environment against `shape`; empty values mean unset; the first problem is a ConfigError. */
export function parseEnv<Shape extends z.ZodRawShape>(shape: Shape, source: EnvSource): z.infer<z.ZodObject<Shape>> {
  const set = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = z.object(shape).safeParse(set);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new ConfigError(`invalid configuration: ${issue?.path.join('.') ?? '?'}: ${issue?.message ?? 'invalid'}`);
}

/**
 * The database part of already parsed variables (see `databaseEnv`). Behind a pooler in transaction mode the
 * migrations' lock and the feed's LISTEN need a server of their own: without DATABASE_DIRECT_URL it is a ConfigError.
 */
export function toDatabaseConfig(values: z.infer<z.ZodObject<typeof databaseEnv>>): DatabaseConfig {
  if (values.DATABASE_POOLER === 'transaction') {
    if (!values.DATABASE_URL) throw new ConfigError('invalid configuration: DATABASE_URL: required when DATABASE_POOLER=transaction (the pooler)');
    if (!values.DATABASE_DIRECT_URL) {
      throw new ConfigError('invalid configuration: DATABASE_DIRECT_URL: required when DATABASE_POOLER=transaction (PostgreSQL itself, for migrations and the change feed)');
    }
  }
  return {
    url: values.DATABASE_URL,
    pooler: values.DATABASE_POOLER,
    directUrl: values.DATABASE_DIRECT_URL,
    embedded: { dataDir: values.EMBEDDED_PG_DIR, port: values.EMBEDDED_PG_PORT },
    pool: { max: values.DB_POOL_MAX, acquireTimeoutMs: values.DB_POOL_ACQUIRE_TIMEOUT_MS },
    statementTimeoutMs: values.DB_STATEMENT_TIMEOUT_MS,
    connectTimeoutMs: values.DB_CONNECT_TIMEOUT_MS,
    replicas: { urls: values.DATABASE_REPLICA_URLS, maxLagMs: values.REPLICA_MAX_LAG_MS },
  };
}

export function loadDatabaseConfig(source: EnvSource): DatabaseConfig {
  return toDatabaseConfig(parseEnv(databaseEnv, source));
}

/** `createDatabase` options for `url` under this configuration. */
export function databaseOptions(config: DatabaseConfig, url: string): DatabaseOptions {
  return {
    url,
    pooler: config.pooler,
    directUrl: config.directUrl,
    pool: config.pool,
    statementTimeoutMs: config.statementTimeoutMs,
    connectTimeoutMs: config.connectTimeoutMs,
    replicaUrls: config.replicas.urls,
    replicaMaxLagMs: config.replicas.maxLagMs,
  };
}

export interface DatabaseServer {
  url: string;
  /** Set when the server is the embedded one this configuration selected (and possibly started). */
  embedded?: EmbeddedPostgres;
}

/** DATABASE_URL when set, otherwise the embedded server (started, or joined if another process runs it). */
export async function openDatabaseServer(config: DatabaseConfig): Promise<DatabaseServer> {
  if (config.url) return { url: config.url };
  const embedded = await startEmbeddedPostgres({ ...config.embedded, database: 'catalog' });
  return { url: embedded.url, embedded };
}
