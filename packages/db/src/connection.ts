/**
 * The database handle every other package is given: one Sequelize instance over a pg pool, its models
 * bound to that instance alone (repository mode), so tests and servers can hold several side by side.
 */
import 'reflect-metadata';
import type pg from 'pg';
import { Sequelize } from 'sequelize-typescript';
import type { Repository } from 'sequelize-typescript';
import { DATABASE_DEFAULTS } from './config.js';
import { Category } from './models/category.js';
import { Product } from './models/product.js';

export interface PoolOptions {
  max?: number;
  min?: number;
  /** How long a request may wait for a free connection before failing. */
  acquireTimeoutMs?: number;
  idleTimeoutMs?: number;
}

export interface DatabaseOptions {
  url: string;
  pool?: PoolOptions;
  /** Server-side cap on one statement, so a slow query cannot hold a connection forever. */
  statementTimeoutMs?: number;
  /** How long to wait for a new connection before reporting the database unreachable. */
  connectTimeoutMs?: number;
  logging?: (sql: string) => void;
}

export interface Database {
  readonly url: string;
  /** How long a new connection may take; the migrator's own connection honours it too. */
  readonly connectTimeoutMs: number;
  readonly sequelize: Sequelize;
  readonly Category: Repository<Category>;
  readonly Product: Repository<Product>;
  /**
   * One statement with bound values on a pooled connection, rows as the driver parses them. The hot
   * path: Sequelize's pool and connections, without its per-query machinery.
   */
  query<T>(sql: string, binds?: unknown[]): Promise<T[]>;
  /** Resolves true when `SELECT 1` answers within `timeoutMs`, false otherwise; never throws. */
  ping(timeoutMs?: number): Promise<boolean>;
  close(): Promise<void>;
}

export const models = [Category, Product] as const;

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

export function createDatabase(options: DatabaseOptions): Database {
  const {
    url,
    pool = {},
    statementTimeoutMs = DATABASE_DEFAULTS.statementTimeoutMs,
    connectTimeoutMs = DATABASE_DEFAULTS.connectTimeoutMs,
  } = options;
  const sequelize = new Sequelize(url, {
    dialect: 'postgres',
    logging: options.logging ?? false,
    repositoryMode: true,
    models: [...models],
    pool: {
      max: pool.max ?? DATABASE_DEFAULTS.poolMax,
      min: pool.min ?? 0,
      acquire: pool.acquireTimeoutMs ?? DATABASE_DEFAULTS.acquireTimeoutMs,
      idle: pool.idleTimeoutMs ?? 10_000,
    },
    dialectOptions: {
      connectionTimeoutMillis: connectTimeoutMs,
      statement_timeout: statementTimeoutMs,
      application_name: 'tradeos-catalog',
    },
  });

  const manager = sequelize.connectionManager as unknown as {
    getConnection(options: { type: 'read' | 'write' }): Promise<pg.Client>;
    releaseConnection(connection: pg.Client): Promise<void>;
  };

  return {
    url,
    connectTimeoutMs,
    sequelize,
    async query<T>(sql: string, binds: unknown[] = []): Promise<T[]> {
      const connection = await manager.getConnection({ type: 'write' });
      try {
        return (await connection.query<T & pg.QueryResultRow>(sql, binds)).rows;
      } finally {
        await manager.releaseConnection(connection);
      }
    },
    Category: sequelize.getRepository(Category),
    Product: sequelize.getRepository(Product),
    ping(timeoutMs = 2_000) {
      const query = this.query('SELECT 1').then(
        () => true,
        () => false,
      );
      return within(query, timeoutMs, false);
    },
    close: () => sequelize.close(),
  };
}
