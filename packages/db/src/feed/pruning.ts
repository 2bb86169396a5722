/** The feed's retention: events older than the window go, oldest first, one instance at a time. */
import type { Database } from '../connection/database.js';

// Any constant that no other advisory lock of this database uses: one pruner at a time across instances.
const PRUNE_LOCK = 7_214_016_001;

const PRUNE_BATCH = `WITH lock AS MATERIALIZED (SELECT pg_try_advisory_xact_lock($1) AS locked),
  mark AS MATERIALIZED (SELECT r.pruned_through AS id FROM events_retention r, lock WHERE lock.locked),
  batch AS MATERIALIZED (
    SELECT e.id, e.occurred_at < now() - make_interval(days => $3) AS old
      FROM events e, mark WHERE e.id > mark.id AND e.id <= $2::bigint ORDER BY e.id LIMIT $4),
  cut AS MATERIALIZED (
    SELECT CASE
             WHEN bool_and(old) IS NULL THEN NULL
             WHEN NOT bool_and(old) THEN min(id) FILTER (WHERE NOT old) - 1
             WHEN count(*) = $4 THEN max(id)
             ELSE $2::bigint
           END AS through,
           coalesce(bool_and(old), false) AND count(*) = $4 AS more
      FROM batch),
  gone AS (DELETE FROM events e USING mark, cut WHERE e.id > mark.id AND e.id <= cut.through RETURNING 1),
  moved AS (UPDATE events_retention r SET pruned_through = cut.through FROM cut WHERE cut.through > r.pruned_through RETURNING 1)
  SELECT lock.locked, (SELECT count(*)::int FROM gone) AS deleted, cut.more AND EXISTS (SELECT FROM moved) AS more
    FROM lock LEFT JOIN cut ON true`;

export interface Retention {
  retentionDays: number;
  batch: number;
}

/**
 * Deletes events below the horizon older than the retention window in batches, one instance at a time, until none is
 * left or `stopped()`; returns how many. Each batch is one statement: a transaction that deletes events holds a write
 * lock on them, and the horizon waits for every such transaction, so it must not stay open across round trips (a
 * Sequelize transaction here held one for 670 ms under W5's load, and commit → subscriber's p99 with it). Only a
 * prefix of old events goes, so the watermark stays exact: every id up to it is pruned.
 */
export async function prune(db: Database, horizon: () => bigint, retention: Retention, stopped: () => boolean): Promise<number> {
  if (horizon() < 0n) return 0;
  let deleted = 0;
  for (let more = true; more && !stopped(); ) {
    const [outcome] = await db.query<{ locked: boolean; deleted: number; more: boolean }>(PRUNE_BATCH, [
      PRUNE_LOCK,
      String(horizon()),
      retention.retentionDays,
      retention.batch,
    ]);
    deleted += outcome?.deleted ?? 0;
    more = Boolean(outcome?.locked && outcome.more);
  }
  return deleted;
}
