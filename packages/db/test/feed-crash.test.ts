/**
 * The change feed across a crash of PostgreSQL (contract v1.3, "a database fault never loses an event"): a sequence's
 * values are durable only once WAL past them is flushed, so after a crash PostgreSQL hands out again the ids of
 * transactions that never committed. No follower may have stepped over such an id before the crash.
 *
 * The crash is made to lose exactly that WAL, on a server of its own (tooling/cluster/postgres.ts): the WAL writer is
 * stopped (SIGSTOP) and nothing else flushes (no autovacuum, no background writer, no commit in the window); a
 * checkpoint makes the next id write its own WAL record; the transaction that takes it rolls back; then the WAL
 * writer is killed, which PostgreSQL treats as a crash: every session ends, and it restarts with recovery.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, until, type Cluster } from '../../../tooling/cluster/postgres.js';
import { createDatabase, type Database } from '../src/connection/database.js';
import { createChangeFeed, type ChangeFeed } from '../src/feed/feed.js';
import { createMigrator } from '../src/schema/migrator.js';
import { createTestDatabase } from '../src/testing.js';

let cluster: Cluster;
let db: Database;
let url: string;
let feed: ChangeFeed;

beforeAll(async () => {
  cluster = await startCluster({ replicas: 0 });
  for (const setting of ['autovacuum = off', 'bgwriter_lru_maxpages = 0']) await cluster.primary.sql(`ALTER SYSTEM SET ${setting}`);
  await cluster.primary.sql('SELECT pg_reload_conf()');
  url = (await createTestDatabase(cluster.primary.url())).url;
  db = createDatabase({ url, pool: { max: 2 } });
  await createMigrator(db).up();
  feed = createChangeFeed(db, { pollMs: 20 });
  await feed.start();
});

afterAll(async () => {
  await feed?.close();
  await db?.close();
  await cluster?.stop();
});

/** One statement on a connection of its own; undefined while the server does not answer. */
async function attempt<T extends pg.QueryResultRow>(text: string, binds: unknown[] = []): Promise<T[] | undefined> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.query<T>(text, binds)).rows;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function sql<T extends pg.QueryResultRow>(text: string, binds: unknown[] = []): Promise<T[]> {
  const rows = await attempt<T>(text, binds);
  if (!rows) throw new Error(`no answer to ${text}`);
  return rows;
}

/** Follows the feed from `after`, keeping each event's id and name. */
function follower(after: string) {
  const stop = new AbortController();
  const seen: Array<{ id: string; name: string }> = [];
  const following = (async () => {
    for await (const event of feed.follow({ after }, stop.signal)) seen.push({ id: event.id, name: (event.data as { name: string }).name });
  })();
  return {
    seen,
    stop: async () => {
      stop.abort();
      await following;
    },
  };
}

/** Resolves once two statements of the feed's own connection have started after `since`: the first one's news is handed on. */
async function feedTickedTwiceAfter(since: string): Promise<void> {
  const started = () =>
    sql<{ at: string }>(
      `SELECT query_start::text AS at FROM pg_stat_activity WHERE application_name = 'tradeos-catalog-feed' AND datname = current_database() AND query_start > $1::timestamptz`,
      [since],
    );
  let first: string | undefined;
  await until('the feed read twice after the rollback', async () => {
    const [row] = await started();
    if (row && !first) first = row.at;
    return first !== undefined && row !== undefined && row.at !== first;
  });
}

describe('the change feed across a crash', () => {
  it('hands every follower the event that takes an id the crash gave back', async () => {
    await sql(`INSERT INTO categories (name) VALUES ('До сбоя')`);
    const [{ id: before }] = (await sql<{ id: string }>('SELECT max(id)::text AS id FROM events')) as [{ id: string }];
    const start = String(BigInt(before) - 1n);
    const follow = follower(start);
    try {
      await until('the follower has the event before the crash', () => follow.seen.length === 1);

      const [{ pid: walWriter }] = (await sql<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE backend_type = 'walwriter'`)) as [{ pid: number }];
      process.kill(walWriter, 'SIGSTOP');
      await sql('CHECKPOINT');
      const session = new pg.Client({ connectionString: url });
      session.on('error', () => undefined);
      await session.connect();
      await session.query('BEGIN');
      await session.query(`INSERT INTO categories (name) VALUES ('Откатится')`);
      const [{ id: lost }] = (await session.query<{ id: string }>('SELECT max(id)::text AS id FROM events')).rows as [{ id: string }];
      await session.query('ROLLBACK');
      const [{ at: rolledBack }] = (await session.query<{ at: string }>('SELECT clock_timestamp()::text AS at')).rows as [{ at: string }];
      await session.end();
      await feedTickedTwiceAfter(rolledBack);

      process.kill(walWriter, 'SIGKILL');
      await until('PostgreSQL restarted after the crash', async () => (await attempt('SELECT 1')) !== undefined);

      await sql(`INSERT INTO categories (name) VALUES ('После сбоя')`);
      const [{ id: taken }] = (await sql<{ id: string }>(`SELECT id::text AS id FROM events WHERE data->>'name' = 'После сбоя'`)) as [{ id: string }];
      // The precondition: the crash did give the rolled-back id back.
      expect(BigInt(taken)).toBeLessThanOrEqual(BigInt(lost));

      await until('the follower has the event after the crash', () => follow.seen.length === 2, 30_000);
      expect(follow.seen).toEqual([
        { id: before, name: 'До сбоя' },
        { id: taken, name: 'После сбоя' },
      ]);
      expect((await feed.page({ after: start, limit: 10 })).items.map((event) => event.id)).toEqual([before, taken]);
    } finally {
      await follow.stop();
    }
  }, 180_000);
});
