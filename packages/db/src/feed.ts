/**
 * The change feed's reader: which events may be handed out (a commit-safe horizon), wake-ups through LISTEN/NOTIFY
 * on a dedicated connection, pages and endless follows for consumers, and retention. The events themselves are
 * appended by the database's triggers (migration 2026.11.30T10.00.00), in the transaction of every change.
 *
 * Why a horizon: event ids come from a sequence, so a transaction holding id 10 may commit after one holding id 11;
 * a reader that handed out 11 and moved on would never see 10. The horizon is an id below which no event can still
 * appear: read M = the sequence's last value, then (in a later statement) a snapshot S. Every id <= M was taken by a
 * transaction that had its xid before S (an event row is written after the row it records), so that transaction had
 * either finished by S or was running then. Once every transaction running at S has ended, every event <= M is
 * committed or rolled back for good, and a reader may serve `id <= M`. (Running at S: S's xip, plus running xids at
 * or past S's xmax, which a snapshot leaves out: see Candidate.) Not sound for two-phase commit (PREPARE TRANSACTION),
 * which the catalog does not use.
 */
import type { Event, EventType } from '@tradeos/contract';
import pg from 'pg';
import { within, type Database } from './connection.js';
import { DataError } from './errors.js';
import { toCategory, toProduct, withDates, type Json } from './rows.js';
import type { CategoryRow } from './queries/categories.js';
import type { ProductRow } from './queries/products.js';

const CHANNEL = 'tradeos_events';
// Any constant that no other advisory lock of this database uses: one pruner at a time across instances.
const PRUNE_LOCK = 7_214_016_001;

export interface FeedOptions {
  /** Events older than this are pruned (default 7). */
  retentionDays?: number;
  /** Fallback for writers that send no NOTIFY (psql, the import CLI): how often the horizon is checked anyway. */
  pollMs?: number;
  /** At most one NOTIFY per this many milliseconds from this process. */
  notifyEveryMs?: number;
  /** How often retention runs (each run prunes in batches of `pruneBatch`). */
  pruneEveryMs?: number;
  pruneBatch?: number;
  /** Called with failures of the feed's own connection (it reconnects by itself). */
  onError?: (error: unknown) => void;
}

export interface FeedQuery {
  /** Only events after this id; omitted: from the oldest event kept. */
  after?: string;
  types?: EventType[];
}

export interface FeedPage {
  items: Event[];
  /** The `after` of the next call. */
  nextAfter: string;
  /** The horizon this page was read under: `wait(since: horizon)` wakes for anything newer. */
  horizon: string;
}

/** Events that became safe together: those with ids in (from, to], or undefined when there were too many to carry. */
interface Advance {
  from: bigint;
  to: bigint;
  events: Event[] | undefined;
}

interface EventRow {
  id: string;
  type: EventType;
  entity: 'product' | 'category';
  entity_id: number;
  version: number;
  occurred_at: Date;
  data: Record<string, unknown> | null;
}

/** An event row as the contract's Event; `data` goes through the same mapping the API's reads use. */
function toEvent(row: EventRow): Event {
  const data = row.data && (row.entity === 'product' ? toProduct(withDates(row.data as Json<ProductRow>)) : toCategory(withDates(row.data as Json<CategoryRow>)));
  return { id: row.id, type: row.type, entity: row.entity, entity_id: row.entity_id, version: row.version, occurred_at: row.occurred_at.toISOString(), data };
}

const EVENT_COLUMNS = 'e.id::text AS id, e.type, e.entity, e.entity_id, e.version, e.occurred_at, e.data';
// Events the largest in-memory fan-out carries; past it, each follower reads its own pages.
const FANOUT_MAX = 1_000;
const PAGE = 500;
// Two statements of one simple query, each with its own snapshot: the second is taken after the first read the
// sequence, and the xid it takes bounds every xid assigned before that snapshot (see Candidate).
// A third lists the transactions of other databases of the server (a snapshot lists them too), which cannot hold
// one of this database's events: they need not be waited for. (A role that may not see other sessions sees none.)
const TICK = [
  'SELECT last_value::text AS last, is_called FROM events_id_seq',
  'SELECT pg_current_snapshot()::text AS snapshot, pg_current_xact_id()::text AS next',
  'SELECT array(SELECT backend_xid::text FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND datname IS DISTINCT FROM current_database()) AS elsewhere',
].join('; ');

/**
 * Events up to `through` are safe once every transaction that may hold one has ended: those in the snapshot's xip,
 * and those at or past its xmax (a snapshot leaves running xids >= xmax out of xip) but below `to`, an xid assigned
 * right after the snapshot, so above every xid assigned before it. After one more tick both are an explicit `xip`.
 */
interface Candidate {
  through: bigint;
  xip: Set<string>;
  from: bigint;
  to: bigint;
}

const gone = () => new DataError('gone', 'The events after this cursor are no longer kept; resync and follow from the newest event');
const matches = (types: EventType[] | undefined) => (event: Event) => !types || types.includes(event.type);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createChangeFeed(db: Database, options: FeedOptions = {}) {
  const { retentionDays = 7, pollMs = 250, notifyEveryMs = 5, pruneEveryMs = 60_000, pruneBatch = 1_000, onError = () => undefined } = options;
  let client: pg.Client | undefined;
  let started = false;
  let closed = false;
  let horizon = -1n;
  let candidates: Candidate[] = [];
  let ticking: Promise<void> | undefined;
  let again = false;
  let lastNotify = 0;
  let notifyDue = false;
  let poll: NodeJS.Timeout | undefined;
  let pruner: NodeJS.Timeout | undefined;
  let reconnect: NodeJS.Timeout | undefined;
  let firstHorizon: Promise<void> | undefined;
  let resolveFirst: () => void = () => undefined;
  const listeners = new Set<(advance: Advance) => void>();

  /** One step of the horizon: settle earlier candidates against a fresh snapshot, and take a new candidate. */
  async function tick(connection: pg.Client): Promise<void> {
    // A NOTIFY this process owes the others rides along, at most one per `notifyEveryMs`.
    const notify = notifyDue && Date.now() - lastNotify >= notifyEveryMs;
    if (notify) {
      notifyDue = false;
      lastNotify = Date.now();
    }
    // With followers, the events past the horizon come along in a last statement (its snapshot is later than the
    // one that settles a candidate, so every event up to a new horizon is in it); `horizon` is our own number.
    const prefetch = listeners.size > 0 && horizon >= 0n;
    const statements = [...(notify ? [`NOTIFY ${CHANNEL}`] : []), TICK, ...(prefetch ? [`SELECT ${EVENT_COLUMNS} FROM events e WHERE e.id > ${horizon} ORDER BY e.id LIMIT ${FANOUT_MAX + 1}`] : [])];
    const results = (await connection.query(statements.join('; '))) as unknown as pg.QueryResult[];
    const [sequence, snapshot, others, ahead] = results.slice(notify ? 1 : 0) as [
      pg.QueryResult<{ last: string; is_called: boolean }>,
      pg.QueryResult<{ snapshot: string; next: string }>,
      pg.QueryResult<{ elsewhere: string[] }>,
      pg.QueryResult<EventRow> | undefined,
    ];
    const seq = sequence.rows[0]!;
    const through = seq.is_called ? BigInt(seq.last) : 0n;
    const [, xmax = '0', xipText = ''] = snapshot.rows[0]!.snapshot.split(':');
    // pg_stat_activity shows 32-bit xids, the snapshot 64-bit ones (epoch and xid): compare their low 32 bits.
    const elsewhere = new Set(others.rows[0]!.elsewhere);
    const running = (xipText ? xipText.split(',') : []).filter((xid) => !elsewhere.has(String(BigInt(xid) & 0xffff_ffffn)));

    let settled = horizon < 0n ? 0n : horizon;
    const waiting: Candidate[] = [];
    for (const candidate of candidates) {
      // This snapshot lists every transaction still running below its xmax, which is past the candidate's bound.
      const still = running.filter((xid) => candidate.xip.has(xid) || (BigInt(xid) >= candidate.from && BigInt(xid) < candidate.to));
      if (!still.length) {
        if (candidate.through > settled) settled = candidate.through;
      } else {
        waiting.push({ through: candidate.through, xip: new Set(still), from: 0n, to: 0n });
      }
    }
    // A candidate waiting on a superset of what a newer one waits on settles no earlier than it: drop it.
    candidates = waiting.filter((older, index) => !waiting.slice(index + 1).some((newer) => [...newer.xip].every((xid) => older.xip.has(xid))));
    if (through > settled) candidates.push({ through, xip: new Set(running), from: BigInt(xmax), to: BigInt(snapshot.rows[0]!.next) });
    // The first tick only takes a candidate; from the second on the horizon stands on a settled one.
    if (horizon < 0n) {
      horizon = settled;
      if (!candidates.length) resolveFirst();
      return;
    }
    if (settled > horizon) advance(settled, ahead?.rows);
    resolveFirst();
  }

  /** Moves the horizon to `to` and hands the events up to it to every follower (all of them, or none when too many). */
  function advance(to: bigint, ahead: EventRow[] | undefined): void {
    const from = horizon;
    const complete = ahead !== undefined && (ahead.length <= FANOUT_MAX || BigInt(ahead.at(-1)!.id) > to);
    const events = complete ? ahead.filter((row) => BigInt(row.id) <= to).map(toEvent) : undefined;
    horizon = to;
    for (const listener of listeners) listener({ from, to, events });
  }

  /** Ticks until nothing is pending: at once on a wake-up, then every few milliseconds while candidates wait. */
  function requestTick(): void {
    if (ticking) {
      again = true;
      return;
    }
    ticking = (async () => {
      do {
        again = false;
        const connection = client;
        if (!connection) break;
        try {
          await tick(connection);
        } catch (error) {
          onError(error);
          drop(connection);
          break;
        }
        // At most one tick per `notifyEveryMs` however many writes arrive: a busy writer gets a bounded cost.
        if (again || candidates.length || notifyDue) await sleep(notifyEveryMs);
      } while ((again || candidates.length > 0 || notifyDue) && client);
    })().finally(() => (ticking = undefined));
  }

  function drop(connection: pg.Client): void {
    if (client !== connection) return;
    client = undefined;
    void connection.end().catch(() => undefined);
    if (!closed) reconnect = setTimeout(() => void connect(), 1_000);
  }

  async function connect(): Promise<void> {
    const connection = new pg.Client({
      connectionString: db.url,
      application_name: 'tradeos-catalog-feed',
      connectionTimeoutMillis: db.connectTimeoutMs,
      statement_timeout: 5_000,
      query_timeout: 6_000,
    });
    connection.on('notification', requestTick);
    connection.on('error', (error) => {
      onError(error);
      drop(connection);
    });
    connection.on('end', () => drop(connection));
    try {
      await connection.connect();
      // Each tick takes an xid and commits; it need not wait for its commit record's flush.
      await connection.query(`SET synchronous_commit = off; LISTEN ${CHANNEL}`);
    } catch (error) {
      onError(error);
      client = connection;
      drop(connection);
      return;
    }
    if (closed) {
      await connection.end();
      return;
    }
    client = connection;
    // Anything committed while the connection was down is caught up by this first tick.
    requestTick();
  }

  /** Opens the dedicated connection, the fallback poll and retention; resolves once the first horizon is known. */
  function start(): Promise<void> {
    if (!started) {
      started = true;
      firstHorizon = new Promise((resolve) => (resolveFirst = resolve));
      poll = setInterval(requestTick, pollMs);
      pruner = setInterval(() => void prune().catch(onError), pruneEveryMs);
      void connect();
    }
    return firstHorizon!;
  }

  /** Called after a write of this process committed: wakes the local readers now and the other processes by NOTIFY. */
  function written(): void {
    if (!started || closed) return;
    notifyDue = true;
    requestTick();
  }

  /** Events in (after, upTo] of the given types, with the retention watermark read in the same snapshot. */
  async function read(after: string | undefined, upTo: bigint, limit: number, types: EventType[] | undefined, signal?: AbortSignal) {
    // A cursor at or past the horizon has nothing to read, and nothing of it can be pruned: retention removes only
    // events days old, all long below the horizon. So a consumer waiting at the head costs no query.
    if (after !== undefined && BigInt(after) >= upTo) return { items: [], nextAfter: after };
    const rows = await db.query<EventRow & { pruned_through: string }>(
      `SELECT r.pruned_through::text AS pruned_through, ${EVENT_COLUMNS}
         FROM events_retention r
         LEFT JOIN LATERAL (
           SELECT * FROM events
            WHERE id > COALESCE($1::bigint, r.pruned_through) AND id <= $2::bigint AND ($3::text[] IS NULL OR type = ANY($3::text[]))
            ORDER BY id LIMIT $4
         ) e ON true`,
      [after ?? null, String(upTo), types ?? null, limit],
      signal,
    );
    const prunedThrough = rows[0]?.pruned_through ?? '0';
    if (after !== undefined && BigInt(after) < BigInt(prunedThrough)) throw gone();
    const items = rows.filter((row) => row.id !== null).map(toEvent);
    return { items, nextAfter: items.at(-1)?.id ?? after ?? prunedThrough };
  }

  /** Starts the feed and waits (up to the connect timeout) for its first horizon; without one the database is down. */
  async function ready(): Promise<void> {
    await within(start(), db.connectTimeoutMs, undefined);
    if (horizon < 0n) throw new DataError('unavailable', 'The database is unavailable');
  }

  async function page(query: FeedQuery & { limit: number }, signal?: AbortSignal): Promise<FeedPage> {
    await ready();
    const upTo = horizon;
    const { items, nextAfter } = await read(query.after, upTo, query.limit, query.types, signal);
    return { items, nextAfter, horizon: String(upTo) };
  }

  /** Resolves once an event after `query.after` of its types is past horizon `since`, or at the timeout or abort. */
  function wait(since: string, query: FeedQuery, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const after = BigInt(query.after ?? '0');
    const wanted = matches(query.types);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        listeners.delete(listener);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const listener = ({ to, events }: Advance) => {
        if (to > BigInt(since) && (!events || events.some((event) => BigInt(event.id) > after && wanted(event)))) done();
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener('abort', done, { once: true });
      listeners.add(listener);
      if (horizon > BigInt(since)) done();
    });
  }

  /**
   * Every event after `query.after`, endlessly: pages from the database until at the horizon, then the events each
   * advance carries (read once for all followers), back to pages whenever it falls behind. Ends when `signal` aborts.
   */
  async function* follow(query: FeedQuery, signal: AbortSignal): AsyncGenerator<Event> {
    await ready();
    const wanted = matches(query.types);
    const queue: Advance[] = [];
    let wake: () => void = () => undefined;
    const listener = (next: Advance) => {
      // A consumer that lags far behind gets one marker and reads pages instead of holding every event in memory.
      if (queue.length >= 64) queue.splice(0, queue.length, { from: queue[0]!.from, to: next.to, events: undefined });
      else queue.push(next);
      wake();
    };
    const aborted = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    listeners.add(listener);
    try {
      let after = query.after;
      let cursor: bigint;
      for (;;) {
        // Catch up from the database up to the horizon.
        for (;;) {
          const upTo = horizon;
          const { items, nextAfter } = await read(after, upTo, PAGE, query.types, signal);
          for (const event of items) yield event;
          after = nextAfter;
          if (items.length < PAGE) {
            // Everything up to the horizon is read; a cursor ahead of it (from another instance) stays ahead.
            cursor = upTo > BigInt(nextAfter) ? upTo : BigInt(nextAfter);
            break;
          }
        }
        // At the head: take the events each advance carries while they continue from where this follower stands.
        for (;;) {
          while (!queue.length && !signal.aborted) await Promise.race([new Promise<void>((resolve) => (wake = resolve)), aborted]);
          if (signal.aborted) return;
          const next = queue.shift()!;
          if (next.to <= cursor) continue;
          if (!next.events || next.from > cursor) break;
          for (const event of next.events) if (BigInt(event.id) > cursor && wanted(event)) yield event;
          cursor = next.to;
          after = String(cursor);
        }
      }
    } finally {
      listeners.delete(listener);
    }
  }

  /**
   * Deletes events older than the retention window in batches, one instance at a time; returns how many. Each batch
   * is one statement: a transaction that deletes holds an xid, and the horizon waits for every running xid, so it
   * must not stay open across round trips (a Sequelize transaction here held one for 670 ms under W5's load, and
   * commit → subscriber's p99 with it). A batch with nothing old to delete writes nothing and takes no xid. Only a
   * prefix of old events goes, so the watermark stays exact: every id up to it is pruned.
   */
  async function prune(): Promise<number> {
    if (horizon < 0n) return 0;
    let deleted = 0;
    for (let more = true; more && !closed; ) {
      const [outcome] = await db.query<{ locked: boolean; deleted: number; more: boolean }>(
        `WITH lock AS MATERIALIZED (SELECT pg_try_advisory_xact_lock($1) AS locked),
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
           FROM lock LEFT JOIN cut ON true`,
        [PRUNE_LOCK, String(horizon), retentionDays, pruneBatch],
      );
      deleted += outcome?.deleted ?? 0;
      more = Boolean(outcome?.locked && outcome.more);
    }
    return deleted;
  }

  return {
    start,
    written,
    page,
    wait,
    follow,
    prune,
    /** The id up to which every event is committed or rolled back for good (as this process last saw it). */
    get horizon() {
      return String(horizon < 0n ? 0n : horizon);
    },
    async close() {
      closed = true;
      clearInterval(poll);
      clearInterval(pruner);
      clearTimeout(reconnect);
      const connection = client;
      client = undefined;
      resolveFirst();
      await ticking;
      await connection?.end().catch(() => undefined);
    },
  };
}

export type ChangeFeed = ReturnType<typeof createChangeFeed>;
