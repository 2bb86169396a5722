/**
 * Contract v1.3 on a real primary and a real streaming replica (tooling/cluster/postgres.ts, one cluster for this
 * file, started whichever server the rest of the suite uses): routing, the lag limit, a replica killed under load,
 * positions for read your writes, the primary down.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, until, type Cluster } from '../../../tooling/cluster/postgres.js';
import { ConfigError, loadDatabaseConfig } from '../src/config.js';
import { createDatabase, type Database } from '../src/connection/database.js';
import { formatPosition, parsePosition, withPositions, type PositionContext } from '../src/connection/positions.js';
import { createMigrator } from '../src/schema/migrator.js';
import { createTestDatabase, withDatabaseName } from '../src/testing.js';

let cluster: Cluster;
let db: Database;
let replicaUrl: string;

/** True when the statement ran on a standby. */
const onReplica = async (database: Database = db) => (await database.read<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby'))[0]!.standby;
const healthy = () => db.replicas().filter((replica) => replica.state === 'healthy').length;

beforeAll(async () => {
  cluster = await startCluster();
  const database = await createTestDatabase(cluster.primary.url());
  const name = new URL(database.url).pathname.slice(1);
  replicaUrl = withDatabaseName(cluster.replicas[0]!.url(), decodeURIComponent(name));
  db = createDatabase({ url: database.url, replicaUrls: [replicaUrl], replicaMaxLagMs: 500, pool: { max: 4 } });
  await createMigrator(db).up();
  await cluster.caughtUp();
  await until('the replica is healthy', () => healthy() === 1);
});

afterAll(async () => {
  await db?.close();
  await cluster?.stop();
});

describe('positions', () => {
  it('are 16 upper-case hex digits of the LSN, and nothing else parses', () => {
    expect(formatPosition(0x16_b374d848n)).toBe('00000016B374D848');
    expect(parsePosition('00000016B374D848')).toBe(0x16_b374d848n);
    for (const bad of ['', '00000016b374d848', '16/B374D848', '0000016B374D848', '000000016B374D848', ' 00000016B374D848', '00000016B374D84G']) {
      expect(parsePosition(bad), bad).toBeUndefined();
    }
  });
});

describe('the settings', () => {
  it('DATABASE_REPLICA_URLS is a comma-separated list of postgres URLs; REPLICA_MAX_LAG_MS defaults to 1000', () => {
    expect(loadDatabaseConfig({}).replicas).toEqual({ urls: [], maxLagMs: 1000 });
    const config = loadDatabaseConfig({ DATABASE_REPLICA_URLS: ' postgres://a:5433/catalog ,postgresql://b/catalog,', REPLICA_MAX_LAG_MS: '250' });
    expect(config.replicas).toEqual({ urls: ['postgres://a:5433/catalog', 'postgresql://b/catalog'], maxLagMs: 250 });
    expect(() => loadDatabaseConfig({ DATABASE_REPLICA_URLS: 'postgres://a/catalog,http://b/catalog' })).toThrow(ConfigError);
    expect(() => loadDatabaseConfig({ DATABASE_REPLICA_URLS: 'postgres://a/catalog', REPLICA_MAX_LAG_MS: 'soon' })).toThrow(/REPLICA_MAX_LAG_MS/);
  });
});

describe('routing', () => {
  it('sends reads to the healthy replica, keeps query on the primary, and names it without a password', async () => {
    expect(await onReplica()).toBe(true);
    expect((await db.query<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby'))[0]!.standby).toBe(false);
    expect(db.replicas()).toEqual([{ name: new URL(replicaUrl).host + new URL(replicaUrl).pathname, state: 'healthy', lagMs: expect.any(Number) as number }]);
  });

  it('reads what a write committed when given its position, over 200 write→read pairs', async () => {
    await db.query('CREATE TABLE IF NOT EXISTS ryw (id int PRIMARY KEY, v int)');
    await db.query('INSERT INTO ryw VALUES (1, 0) ON CONFLICT DO NOTHING');
    let stale = 0;
    let fromReplica = 0;
    for (let i = 1; i <= 200; i += 1) {
      const write: PositionContext = { seen: 0n };
      await withPositions(write, async () => {
        await db.query('UPDATE ryw SET v = $1 WHERE id = 1', [i]);
        await db.committed();
      });
      const read: PositionContext = { min: write.seen, seen: 0n };
      const [row] = await withPositions(read, () => db.read<{ v: number; standby: boolean }>('SELECT v, pg_is_in_recovery() AS standby FROM ryw WHERE id = 1'));
      if (row!.v !== i) stale += 1;
      if (row!.standby) fromReplica += 1;
      expect(read.seen).toBeGreaterThanOrEqual(write.seen);
    }
    expect(stale).toBe(0);
    // The replica replays within the 100 ms wait almost always; at least some reads prove the path.
    expect(fromReplica).toBeGreaterThan(0);
  });

  it('leaves a replica paused past the lag limit out of reads, and takes it back once resumed', async () => {
    const replica = cluster.replicas[0]!;
    await cluster.pause(replica);
    try {
      await db.query('CREATE TABLE IF NOT EXISTS ticks (at timestamptz)');
      await db.query('INSERT INTO ticks VALUES (now())');
      await until('the paused replica is lagging', () => db.replicas()[0]!.state === 'lagging');
      expect(db.replicas()[0]!.lagMs).toBeGreaterThan(500);
      for (let i = 0; i < 20; i += 1) expect(await onReplica()).toBe(false);
    } finally {
      await cluster.resume(replica);
    }
    await until('the resumed replica is healthy', () => healthy() === 1);
    expect(await onReplica()).toBe(true);
  });

  it('an idle primary does not make the replica look behind', async () => {
    await cluster.caughtUp();
    await until('the replica has lag 0', () => db.replicas()[0]!.lagMs === 0);
    // Idle for three times the limit: its last replayed transaction is old, yet it misses nothing.
    const quiet = Date.now() + 1_500;
    await until('the quiet time passed', () => Date.now() > quiet);
    expect(db.replicas()[0]).toMatchObject({ state: 'healthy' });
  });
});

describe('a replica killed under read load', () => {
  it('fails no read, leaves the rotation, and comes back after its restart', async () => {
    const replica = cluster.replicas[0]!;
    let stop = false;
    let reads = 0;
    const failures: unknown[] = [];
    const reader = async () => {
      while (!stop) {
        await db.read('SELECT count(*) FROM products').then(
          () => (reads += 1),
          (error: unknown) => failures.push(error),
        );
      }
    };
    const load = Array.from({ length: 8 }, reader);
    await until('reads flow', () => reads > 50);
    await replica.stop('immediate');
    const afterKill = reads;
    await until('reads go on without the replica', () => reads > afterKill + 200);
    expect(db.replicas()[0]!.state).toBe('down');
    await replica.start();
    await until('the restarted replica is healthy again', () => healthy() === 1, 60_000);
    const afterRestart = reads;
    await until('reads go on after the restart', () => reads > afterRestart + 200);
    stop = true;
    await Promise.all(load);
    expect(failures).toEqual([]);
    expect(await onReplica()).toBe(true);
  }, 180_000);
});

describe('the primary down', () => {
  it('reads keep answering from the replica; the primary is reported down', async () => {
    await cluster.caughtUp();
    await cluster.primary.stop('fast');
    try {
      for (let i = 0; i < 20; i += 1) expect(await onReplica()).toBe(true);
      const store = createDatabase({ url: db.url, replicaUrls: [replicaUrl], pool: { max: 2 }, connectTimeoutMs: 500 });
      try {
        await until('a fresh handle finds the replica healthy with the primary down', () => store.replicas()[0]?.state === 'healthy');
        expect(await onReplica(store)).toBe(true);
        expect(await store.ping(1_000)).toBe(false);
      } finally {
        await store.close();
      }
    } finally {
      await cluster.primary.start();
    }
  });
});
