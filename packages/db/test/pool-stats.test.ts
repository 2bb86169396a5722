import { describe, expect, it } from 'vitest';
import { createDatabase, type PoolStats } from '../src/connection/database.js';
import { sequelizePoolCounts } from '../src/connection/sequelize-pool.js';
import { useMigratedDatabase } from '../src/fixture.js';

const db = useMigratedDatabase();

/** Polls `pools()` until `ready` holds for the named pool (a checkout is asynchronous), at most 10 s. */
async function poolWhen(handle: { pools(): PoolStats[] }, name: string, ready: (stats: PoolStats) => boolean): Promise<PoolStats> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const stats = handle.pools().find((pool) => pool.pool === name);
    if ((stats && ready(stats)) || Date.now() > deadline) return stats!;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("the adapter over Sequelize's private pool", () => {
  // If this fails after an upgrade of sequelize or sequelize-pool, `sequelize.connectionManager.pool` moved:
  // fix src/connection/sequelize-pool.ts, the one module that reads it.
  it('finds sequelize-pool counts where Sequelize 6 keeps them, and they follow a held connection', async () => {
    const handle = createDatabase({ url: db.url, pool: { max: 3 } });
    try {
      expect(sequelizePoolCounts(handle.sequelize)).toEqual({ size: 0, available: 0, using: 0, waiting: 0, maxSize: 3 });
      const during = await handle.sequelize.transaction(() => Promise.resolve(sequelizePoolCounts(handle.sequelize)));
      expect(during).toMatchObject({ size: 1, using: 1, available: 0, waiting: 0 });
      expect(sequelizePoolCounts(handle.sequelize)).toMatchObject({ size: 1, using: 0, available: 1 });
    } finally {
      await handle.close();
    }
  });
});

describe('pools()', () => {
  it('names the three pools with their maximum, and counts in use, idle and waiting connections', async () => {
    const handle = createDatabase({ url: db.url, pool: { max: 1 } });
    try {
      expect(handle.pools()).toEqual([
        { pool: 'models', inUse: 0, idle: 0, waiting: 0, max: 1 },
        { pool: 'reads', inUse: 0, idle: 0, waiting: 0, max: 1 },
        { pool: 'control', inUse: 0, idle: 0, waiting: 0, max: 1 },
      ]);
      const held = handle.query('SELECT pg_sleep(1)');
      const queued = handle.query('SELECT 1');
      expect(await poolWhen(handle, 'reads', (stats) => stats.inUse === 1 && stats.waiting === 1)).toMatchObject({ inUse: 1, waiting: 1 });
      await Promise.all([held, queued]);
      expect(handle.pools().find((pool) => pool.pool === 'reads')).toMatchObject({ inUse: 0, idle: 1, waiting: 0 });

      let release: () => void = () => undefined;
      const transaction = handle.sequelize.transaction(() => new Promise<void>((resolve) => (release = resolve)));
      expect(await poolWhen(handle, 'models', (stats) => stats.inUse === 1)).toMatchObject({ inUse: 1, idle: 0 });
      release();
      await transaction;
      expect(handle.pools().find((pool) => pool.pool === 'models')).toMatchObject({ inUse: 0, idle: 1 });
    } finally {
      await handle.close();
    }
  });
});
