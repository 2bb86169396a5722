/**
 * What each pool of a handle holds right now, for `/metrics`: pg.Pool's public counters for the hot reads and the
 * control connection, Sequelize's through its one adapter (`sequelize-pool.ts`). Cheap enough for every scrape.
 */
import type pg from 'pg';
import type { Sequelize } from 'sequelize-typescript';
import { sequelizePoolCounts } from './sequelize-pool.js';

/** One pool's connections right now. */
export interface PoolStats {
  /** 'models' | 'reads' | 'control' | 'replica <n>' */
  pool: string;
  inUse: number;
  idle: number;
  /** Callers waiting for a connection. */
  waiting: number;
  max: number;
}

export function pgPoolStats(pool: string, source: pg.Pool, max: number): PoolStats {
  return { pool, inUse: source.totalCount - source.idleCount, idle: source.idleCount, waiting: source.waitingCount, max };
}

/** The handle's three pools; the models' is left out when its adapter cannot read it (see `sequelize-pool.ts`). */
export function poolStats(sources: { sequelize: Sequelize; reads: pg.Pool; control: pg.Pool; max: number }): PoolStats[] {
  const models = sequelizePoolCounts(sources.sequelize);
  return [
    ...(models ? [{ pool: 'models', inUse: models.using, idle: models.available, waiting: models.waiting, max: models.maxSize }] : []),
    pgPoolStats('reads', sources.reads, sources.max),
    pgPoolStats('control', sources.control, 1),
  ];
}
