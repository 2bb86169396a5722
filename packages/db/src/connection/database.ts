/**
 * The database handle every other package is given: one Sequelize instance whose models carry the writes,
 * a pg pool of its own for the hot reads, and a one-connection pool for health checks and cancellations.
 */
import { randomUUID } from 'node:crypto';
import 'reflect-metadata';
import pg from 'pg';
import { Sequelize } from 'sequelize-typescript';
import type { Repository } from 'sequelize-typescript';
import { SessionClient, sequelizeDialect } from './clients.js';
import { DATABASE_DEFAULTS } from '../config.js';
import { DataError, describeDatabaseError, endsSession, isConnectionError, isPoolWait } from '../errors.js';
import { Category } from '../schema/models/category.js';
import { Product } from '../schema/models/product.js';
import { Reservation } from '../schema/models/reservation.js';
import { ReservationItem } from '../schema/models/reservation-item.js';

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

/** Whether the database answers, and why not when it does not (no secrets: the URL's password is masked). */
export type Availability = { available: true } | { available: false; cause: string };

export interface DatabaseOptions {
  url: string;
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
}

/** A statement prepared on each connection under its name (one fixed text per name). */
export interface NamedStatement {
  name: string;
  text: string;
}

export interface Database {
  readonly url: string;
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
  /** One small statement on the control connection, which busy pools cannot starve: health checks only. */
  probe<T>(sql: string, binds?: unknown[]): Promise<T[]>;
  /** Resolves true when `SELECT 1` answers within `timeoutMs`, false otherwise; never throws. Busy pools do not delay it. */
  ping(timeoutMs?: number): Promise<boolean>;
  /** Records the outcome of a call: a connection failure marks the database unavailable, a success available. */
  report(outcome: unknown): void;
  /** Calls `listener` on every change of availability (not on repeats); returns the unsubscribe function. */
  watch(listener: (availability: Availability) => void): () => void;
  /** Cancels every statement this handle's connections are running: the shutdown deadline answered their requests. */
  cancelAll(): Promise<void>;
  close(): Promise<void>;
}

export const models = [Category, Product, Reservation, ReservationItem] as const;

/** `work`'s result, or `fallback` once `timeoutMs` has passed without one. */
export async function within<T>(work: Promise<T>, timeoutMs: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback), timeoutMs)));
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The error text with the URL's password masked, for logs. */
function masked(url: string, error: unknown): string {
  const password = decodeURIComponent(new URL(url).password);
  const text = describeDatabaseError(error);
  return password ? text.split(password).join('***') : text;
}

export function createDatabase(options: DatabaseOptions): Database {
  const {
    url,
    pool = {},
    statementTimeoutMs = DATABASE_DEFAULTS.statementTimeoutMs,
    connectTimeoutMs = DATABASE_DEFAULTS.connectTimeoutMs,
  } = options;
  const queryTimeoutMs = options.queryTimeoutMs ?? statementTimeoutMs + 1_000;
  const max = pool.max ?? DATABASE_DEFAULTS.poolMax;
  const acquireTimeoutMs = pool.acquireTimeoutMs ?? DATABASE_DEFAULTS.acquireTimeoutMs;
  const idleTimeoutMs = pool.idleTimeoutMs ?? 10_000;
  // This handle's sessions, told apart from other processes' (workers, instances) for cancelAll.
  const applicationName = `tradeos-catalog ${randomUUID().slice(0, 8)}`;
  const sequelize = new Sequelize(url, {
    dialect: 'postgres',
    logging: options.logging ?? false,
    repositoryMode: true,
    models: [...models],
    pool: { max, min: pool.min ?? 0, acquire: acquireTimeoutMs, idle: idleTimeoutMs },
    dialectModule: sequelizeDialect,
    dialectOptions: {
      connectionTimeoutMillis: connectTimeoutMs,
      statement_timeout: statementTimeoutMs,
      query_timeout: queryTimeoutMs,
      application_name: applicationName,
    },
  });

  // The hot reads' pool: connections are taken for one statement each, so a cancelled one can simply be dropped.
  const reads = new pg.Pool({
    Client: SessionClient,
    connectionString: url,
    max,
    min: pool.min ?? 0,
    idleTimeoutMillis: idleTimeoutMs,
    connectionTimeoutMillis: acquireTimeoutMs,
    statement_timeout: statementTimeoutMs,
    application_name: applicationName,
  });
  // Health checks and cancellations: a path that a saturated `reads` or Sequelize pool cannot starve.
  const control = new pg.Pool({
    Client: SessionClient,
    connectionString: url,
    max: 1,
    idleTimeoutMillis: idleTimeoutMs,
    connectionTimeoutMillis: connectTimeoutMs,
    statement_timeout: 2_000,
    query_timeout: 2_000,
    application_name: 'tradeos-catalog-control',
  });
  // A broken idle connection is dropped by the pool, which then emits 'error' itself (a client's own errors never end
  // the process: see SessionClient).
  reads.on('error', () => undefined);
  control.on('error', () => undefined);

  // Each read connection's server process id, learned once per connection, so a statement can be cancelled.
  const backends = new WeakMap<pg.PoolClient, Promise<number | undefined>>();
  const backendOf = (client: pg.PoolClient) => {
    let pid = backends.get(client);
    if (!pid) {
      pid = client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid').then(
        (result) => result.rows[0]?.pid,
        () => undefined,
      );
      backends.set(client, pid);
    }
    return pid;
  };
  const cancel = async (pid: number | undefined) => {
    if (pid !== undefined) await control.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => undefined);
  };

  let availability: Availability | undefined;
  const listeners = new Set<(availability: Availability) => void>();
  const settle = (next: Availability) => {
    const changed = availability?.available !== next.available;
    availability = next;
    if (changed) for (const listener of listeners) listener(next);
  };
  // Waiting too long for a pooled connection says the pool is busy, not that the database is down (ping tells that).
  const report = (outcome: unknown) => {
    if (outcome === undefined) settle({ available: true });
    else if (isConnectionError(outcome) && !isPoolWait(outcome)) settle({ available: false, cause: masked(url, outcome) });
  };

  async function query<T>(sql: string | NamedStatement, binds: unknown[] = [], signal?: AbortSignal): Promise<T[]> {
    if (signal?.aborted) throw new DataError('timeout', 'The request was abandoned', undefined, { cause: signal.reason });
    const client = await reads.connect();
    const pid = backendOf(client);
    return new Promise<T[]>((resolve, reject) => {
      let done = false;
      const finish = (release: boolean | Error | undefined) => {
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', stop);
        client.release(release);
      };
      // The deadline passed or the caller gave up: the connection may still be running the statement, so it
      // leaves the pool and the statement is cancelled on the server.
      const stop = () => {
        if (done) return;
        finish(true);
        void pid.then(cancel);
        reject(new DataError('timeout', 'The database took too long to answer', undefined, { cause: signal?.reason }));
      };
      const timer = setTimeout(stop, queryTimeoutMs);
      signal?.addEventListener('abort', stop, { once: true });
      client.query<T & pg.QueryResultRow>(typeof sql === 'string' ? { text: sql } : sql, binds).then(
        (result) => {
          if (done) return;
          finish(undefined);
          resolve(result.rows);
        },
        (error: unknown) => {
          if (done) return;
          finish(endsSession(error) ? (error as Error) : undefined);
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }

  return {
    url,
    connectTimeoutMs,
    sequelize,
    Category: sequelize.getRepository(Category),
    Product: sequelize.getRepository(Product),
    query,
    probe: async <T>(sql: string, binds: unknown[] = []) => (await control.query<T & pg.QueryResultRow>(sql, binds)).rows,
    async ping(timeoutMs = 2_000) {
      const outcome = control.query('SELECT 1').then(
        () => undefined,
        (error: unknown) => error,
      );
      const failure = await within(outcome, timeoutMs, new DataError('unavailable', 'no answer to SELECT 1'));
      settle(failure === undefined ? { available: true } : { available: false, cause: masked(url, failure) });
      return failure === undefined;
    },
    report,
    watch(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async cancelAll() {
      await control.query('SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
    },
    async close() {
      await Promise.all([sequelize.close(), reads.end(), control.end()]);
    },
  };
}
