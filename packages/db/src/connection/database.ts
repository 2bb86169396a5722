/**
 * `connection/`: the database handle and its three pools (`database.ts`, this file), the pg client every connection
 * of the package uses (`clients.ts`), the hot reads with cancellation (`reads.ts`), availability (`health.ts`), and each
 * pool's counts for metrics (`stats.ts`; Sequelize's through `sequelize-pool.ts`, the one reader of its private pool).
 * May import `config`, `errors` and the models (`schema/models/`); nothing of `store/`, `feed/`, `ops/`.
 *
 * The database handle every other package is given, and its three pools.
 *
 * - **Sequelize's pool** carries the models: product deletes, every category read and write, and the writes that
 *   need a transaction across statements (bulk upserts, keyed category writes). Sequelize owns its pool (its
 *   connection manager has no public way to borrow from another), so the models need one of their own.
 * - **The hot reads' `pg.Pool`** (`reads.ts`) serves the single-statement paths that carry the load: one product,
 *   a page, a search, and the single-statement product writes. Each takes a connection for one statement, runs a
 *   named statement (parsed and planned once per connection), and can be cancelled on the server and dropped
 *   when its request is abandoned, which a statement inside Sequelize's pool cannot.
 * - **The control pool** (one connection) runs `/health`'s `SELECT 1` and the cancellations: a saturated pool must
 *   not make a healthy database look down, nor keep an abandoned statement running.
 *
 * Can two become one? The hot reads on the models' pool (through `sequelize.query`: no named statements, no
 * cancellation) were measured against these three (`BENCH_ONLY=W1,W4,W5 BENCH_SAFE_WRITES=false BENCH_DURATION=8
 * pnpm bench`, 64 connections, quiet machine, 2026-12-06): W1 1 174 req/s against 1 753 / 2 849 / 2 755, W4 941
 * against 941 / 1 067 / 1 231, W5 1 018 against 1 089 / 1 225 / 1 453. The models cannot use the hot reads' pool
 * either (see above), and the control pool exists to stay free. So three: at most `2 * max + 1` connections a process.
 *
 * Behind PgBouncer in transaction mode (`DATABASE_POOLER=transaction`) the same pools send no named statement and
 * keep no session state; what needs a session of its own goes to `directUrl` (`pooler.ts` says what and why), and
 * so does the control pool: a ping queued behind the pooler's busy server connections is no answer about the database.
 * With replicas (contract v1.3), each has a hot-read pool of its own and a poller's connection (`replicas.ts`),
 * `read` routes over them (`routing.ts`, `rotation.ts`), and positions (`positions.ts`) give read-your-writes.
 *
 * Every client is a `SessionClient` (`clients.ts`): a connection's death fails the call that used it, never the
 * process. Availability (`health.ts`) is learned from each call's outcome and from pings on the control connection.
 */
import { randomUUID } from 'node:crypto';
import 'reflect-metadata';
import pg from 'pg';
import { Sequelize } from 'sequelize-typescript';
import type { Repository } from 'sequelize-typescript';
import { DATABASE_DEFAULTS } from '../config.js';
import { Category } from '../schema/models/category.js';
import { Product } from '../schema/models/product.js';
import { Reservation } from '../schema/models/reservation.js';
import { ReservationItem } from '../schema/models/reservation-item.js';
import { SessionClient, sequelizeDialect } from './clients.js';
import { Health, type Availability } from './health.js';
import { sequelizeSession, startupTimeout, type Pooler } from './pooler.js';
import type { PositionContext } from './positions.js';
import { Reads, type NamedStatement } from './reads.js';
import { monitorPool, type ReplicaStatus } from './replicas.js';
import { ReplicaSet } from './rotation.js';
import { Router } from './routing.js';
import { poolStats, type PoolStats } from './stats.js';

export { within, type Availability } from './health.js';
export type { Pooler } from './pooler.js';
export type { NamedStatement } from './reads.js';
export type { PoolStats } from './stats.js';
export type { ReplicaStatus } from './replicas.js';

/**
 * Each process opens up to `max` connections for the models (writes, category reads) and up to `max` for the
 * hot reads (product pages, searches, single products), plus one for health checks and cancellations: at most
 * `2 * max + 1` connections per process.
 */
export interface PoolOptions {
  max?: number;
  min?: number;
  /** How long a request may wait for a free connection before failing. */
  acquireTimeoutMs?: number;
  idleTimeoutMs?: number;
}

export interface DatabaseOptions {
  url: string;
  /** `transaction`: `url` is PgBouncer in transaction mode: no named statements, no session state (`pooler.ts`). */
  pooler?: Pooler;
  /** PostgreSQL itself, for what needs a session of its own (migrations and their lock, the feed); default `url`. */
  directUrl?: string;
  pool?: PoolOptions;
  /** Server-side cap on one statement, so a slow query cannot hold a connection forever. */
  statementTimeoutMs?: number;
  /**
   * Client-side cap on one statement: when the server does not answer at all (hung, network gone), the call
   * fails with a `timeout` DataError after this long. Default: the statement timeout plus one second.
   */
  queryTimeoutMs?: number;
  /** How long to wait for a new connection before reporting the database unreachable. */
  connectTimeoutMs?: number;
  logging?: (sql: string) => void;
  /** Contract v1.3: streaming replicas that take the reads (`read`, `reader`); none means every read on the primary. */
  replicaUrls?: string[];
  /** A replica further behind than this gets no reads until it caught up (default 1000). */
  replicaMaxLagMs?: number;
  /** How often the replicas' state and the primary's position are polled (default 50 ms). */
  replicaPollMs?: number;
}

export interface Database {
  readonly url: string;
  /** Where sessions of their own go (the migrator's lock, the feed's LISTEN): DATABASE_DIRECT_URL, else `url`. */
  readonly directUrl: string;
  readonly pooler: Pooler;
  /** How long a new connection may take; the migrator's own connection honours it too. */
  readonly connectTimeoutMs: number;
  readonly sequelize: Sequelize;
  readonly Category: Repository<Category>;
  readonly Product: Repository<Product>;
  /**
   * One statement with bound values on the hot-read pool, rows as the driver parses them. Ends when `signal`
   * aborts or the query timeout passes: the statement is cancelled and its connection dropped. A named
   * statement is parsed and planned once per connection, then only executed.
   */
  query<T>(sql: string | NamedStatement, binds?: unknown[], signal?: AbortSignal): Promise<T[]>;
  /**
   * Contract v1.3: `query` for a read that may be served by a replica: a healthy one in turn that has replayed the
   * request's minimum position (`withPositions`), else the primary. Without replicas, the same as `query`.
   */
  read<T>(sql: string | NamedStatement, binds?: unknown[], signal?: AbortSignal): Promise<T[]>;
  /** This handle with `query` routed as `read`: what the store gives the read paths (products, search, categories). */
  readonly reader: Database;
  /** After a write committed: records the primary's position in the request's context (no-op outside one). */
  committed(): Promise<void>;
  /** The `X-Catalog-Position` token of a request's context (the primary's last known position when it saw nothing). */
  position(context?: PositionContext): string;
  /** Each configured replica's last known state. */
  replicas(): ReplicaStatus[];
  /** One small statement on the control connection, which busy pools cannot starve: health checks only. */
  probe<T>(sql: string, binds?: unknown[]): Promise<T[]>;
  /** Resolves true when `SELECT 1` answers within `timeoutMs`, false otherwise; never throws. Busy pools do not delay it. */
  ping(timeoutMs?: number): Promise<boolean>;
  /** Records the outcome of a call: a connection failure marks the database unavailable, a success available. */
  report(outcome: unknown): void;
  /** Calls `listener` on every change of availability (not on repeats); returns the unsubscribe function. */
  watch(listener: (availability: Availability) => void): () => void;
  /** Each pool's connections right now (in use, idle, waiting, max), for metrics. */
  pools(): PoolStats[];
  /** Cancels every statement this handle's connections are running: the shutdown deadline answered their requests. */
  cancelAll(): Promise<void>;
  close(): Promise<void>;
}

export const models = [Category, Product, Reservation, ReservationItem] as const;

/** The settings every pool of one handle shares, with the defaults filled in. */
interface Settings {
  url: string;
  directUrl: string;
  pooler: Pooler;
  max: number;
  min: number;
  acquireTimeoutMs: number;
  idleTimeoutMs: number;
  statementTimeoutMs: number;
  queryTimeoutMs: number;
  connectTimeoutMs: number;
  /** This handle's sessions, told apart from other processes' (workers, instances) for cancelAll. */
  applicationName: string;
  logging: ((sql: string) => void) | false;
  replicaUrls: string[];
  replicaMaxLagMs: number;
  replicaPollMs: number;
}

function settingsOf(options: DatabaseOptions): Settings {
  const { url, pool = {} } = options;
  const statementTimeoutMs = options.statementTimeoutMs ?? DATABASE_DEFAULTS.statementTimeoutMs;
  return {
    url,
    directUrl: options.directUrl ?? url,
    pooler: options.pooler ?? 'session',
    max: pool.max ?? DATABASE_DEFAULTS.poolMax,
    min: pool.min ?? 0,
    acquireTimeoutMs: pool.acquireTimeoutMs ?? DATABASE_DEFAULTS.acquireTimeoutMs,
    idleTimeoutMs: pool.idleTimeoutMs ?? 10_000,
    statementTimeoutMs,
    queryTimeoutMs: options.queryTimeoutMs ?? statementTimeoutMs + 1_000,
    connectTimeoutMs: options.connectTimeoutMs ?? DATABASE_DEFAULTS.connectTimeoutMs,
    applicationName: `tradeos-catalog ${randomUUID().slice(0, 8)}`,
    logging: options.logging ?? false,
    replicaUrls: options.replicaUrls ?? [],
    replicaMaxLagMs: options.replicaMaxLagMs ?? DATABASE_DEFAULTS.replicaMaxLagMs,
    replicaPollMs: options.replicaPollMs ?? 50,
  };
}

function openSequelize(settings: Settings): Sequelize {
  const session = sequelizeSession(settings.pooler);
  return new Sequelize(settings.url, {
    dialect: 'postgres',
    logging: settings.logging,
    repositoryMode: true,
    models: [...models],
    pool: { max: settings.max, min: settings.min, acquire: settings.acquireTimeoutMs, idle: settings.idleTimeoutMs },
    dialectModule: sequelizeDialect,
    ...(session.keepDefaultTimezone ? { keepDefaultTimezone: true } : {}),
    dialectOptions: {
      ...session.dialectOptions,
      connectionTimeoutMillis: settings.connectTimeoutMs,
      ...startupTimeout(settings.pooler, settings.statementTimeoutMs),
      query_timeout: settings.queryTimeoutMs,
      application_name: settings.applicationName,
    },
  });
}

function openReads(settings: Settings): pg.Pool {
  const pool = new pg.Pool({
    Client: SessionClient,
    connectionString: settings.url,
    max: settings.max,
    min: settings.min,
    idleTimeoutMillis: settings.idleTimeoutMs,
    connectionTimeoutMillis: settings.acquireTimeoutMs,
    ...startupTimeout(settings.pooler, settings.statementTimeoutMs),
    application_name: settings.applicationName,
  });
  // A broken idle connection is dropped by the pool, which then emits 'error' itself (a client's own errors never end
  // the process: see SessionClient).
  pool.on('error', () => undefined);
  return pool;
}

function openControl(settings: Settings): pg.Pool {
  const pool = new pg.Pool({
    Client: SessionClient,
    connectionString: settings.pooler === 'transaction' ? settings.directUrl : settings.url,
    max: 1,
    idleTimeoutMillis: settings.idleTimeoutMs,
    connectionTimeoutMillis: settings.connectTimeoutMs,
    statement_timeout: 2_000,
    query_timeout: 2_000,
    application_name: 'tradeos-catalog-control',
  });
  pool.on('error', () => undefined);
  return pool;
}

/** The replicas and the routing of reads over them; the primary's own poller connection when there are replicas. */
function openRouting(settings: Settings, reads: Reads, readPool: pg.Pool) {
  const monitor = settings.replicaUrls.length ? monitorPool(settings.url, settings.connectTimeoutMs, settings.pooler) : undefined;
  const set = new ReplicaSet({
    urls: settings.replicaUrls,
    settings,
    primary: monitor ?? readPool,
    maxLagMs: settings.replicaMaxLagMs,
    pollMs: settings.replicaPollMs,
  });
  const router = new Router(reads, readPool, set);
  const close = async () => {
    await set.close();
    await monitor?.end();
  };
  return { set, router, close };
}

export function createDatabase(options: DatabaseOptions): Database {
  const settings = settingsOf(options);
  const sequelize = openSequelize(settings);
  const readPool = openReads(settings);
  const control = openControl(settings);
  const reads = new Reads(readPool, control, settings.queryTimeoutMs, settings.pooler, settings.connectTimeoutMs);
  const health = new Health(settings.url, control, settings.pooler === 'transaction' ? settings.directUrl : undefined);
  const routing = openRouting(settings, reads, readPool);
  const base: Omit<Database, 'reader'> = {
    url: settings.url,
    directUrl: settings.directUrl,
    pooler: settings.pooler,
    connectTimeoutMs: settings.connectTimeoutMs,
    sequelize,
    Category: sequelize.getRepository(Category),
    Product: sequelize.getRepository(Product),
    query: (sql, binds, signal) => reads.query(sql, binds, signal),
    read: (sql, binds, signal) => routing.router.read(sql, binds, signal),
    committed: () => routing.router.committed(),
    position: (context) => routing.router.position(context),
    replicas: () => routing.set.statuses(),
    probe: async <T>(sql: string, binds: unknown[] = []) => (await control.query<T & pg.QueryResultRow>(sql, binds)).rows,
    ping: (timeoutMs = 2_000) => health.ping(timeoutMs),
    report: (outcome) => health.report(outcome),
    watch: (listener) => health.watch(listener),
    pools: () => [...poolStats({ sequelize, reads: readPool, control, max: settings.max }), ...routing.set.poolStats()],
    async cancelAll() {
      // Behind a transaction pooler an application_name names a server connection only while one of our clients
      // holds it: the hot reads' statements are cancelled through the pooler; the models' end with their connections.
      await Promise.all([
        settings.pooler === 'transaction'
          ? reads.cancelRunning()
          : control.query('SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [settings.applicationName]),
        ...routing.set.replicas.map((replica) => replica.cancelAll(settings.applicationName)),
      ]);
    },
    async close() {
      await Promise.all([sequelize.close(), readPool.end(), control.end(), routing.close()]);
    },
  };
  const reader: Database = {
    ...base,
    query: base.read,
    get reader() {
      return reader;
    },
  };
  return { ...base, reader };
}
