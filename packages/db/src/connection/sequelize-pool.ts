/**
 * The one reader of a private field of Sequelize: its pool's counts. Sequelize 6 has no public way to ask how many
 * connections its pool holds, so this module reads `sequelize.connectionManager.pool` (a sequelize-pool `Pool`);
 * `test/sequelize-pool.test.ts` fails as soon as an upgrade moves or renames it.
 */
import type { Sequelize } from 'sequelize-typescript';

/** What sequelize-pool 7's `Pool` says of itself (public getters on a private object). */
export interface SequelizePoolCounts {
  /** Connections open, in use or idle. */
  size: number;
  /** Idle connections. */
  available: number;
  /** Connections lent out. */
  using: number;
  /** Callers waiting for a connection. */
  waiting: number;
  maxSize: number;
}

const COUNTS = ['size', 'available', 'using', 'waiting', 'maxSize'] as const;

/**
 * The counts of the models' pool, or undefined when the pool is not where Sequelize 6 keeps it (an upgrade, or a
 * read-replication setup, whose pool is two): metrics then leave this pool out rather than fail a scrape.
 */
export function sequelizePoolCounts(sequelize: Sequelize): SequelizePoolCounts | undefined {
  const manager: unknown = Reflect.get(sequelize, 'connectionManager');
  const pool: unknown = typeof manager === 'object' && manager !== null ? Reflect.get(manager, 'pool') : undefined;
  if (typeof pool !== 'object' || pool === null) return undefined;
  const counts = Object.fromEntries(COUNTS.map((name) => [name, Reflect.get(pool, name) as unknown]));
  return COUNTS.every((name) => typeof counts[name] === 'number') ? (counts as unknown as SequelizePoolCounts) : undefined;
}
