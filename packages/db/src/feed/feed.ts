/**
 * The change feed's reader: pages and endless follows for consumers, and retention. The events themselves are
 * appended by the database's triggers (migration 2026.11.30T10.00.00), in the transaction of every change. Which
 * events may be handed out (the commit-safe horizon) is found by a thread of its own (`feed-horizon.ts`), which also
 * holds the dedicated connection that LISTENs for other processes' writes; each advance of the horizon arrives here
 * with its events and wakes the waiting readers.
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { Event, EventType } from '@tradeos/contract';
import { within, type Database } from '../connection/database.js';
import { DataError } from '../errors.js';
import type { Advance, FromHorizon, HorizonSettings, ToHorizon } from './horizon.js';
import { EVENT_COLUMNS, toEvent, type EventRow } from '../rows.js';

// Any constant that no other advisory lock of this database uses: one pruner at a time across instances.
const PRUNE_LOCK = 7_214_016_001;

export interface FeedOptions {
  /** Events older than this are pruned (default 7). */
  retentionDays?: number;
  /** Fallback for writers that send no NOTIFY (psql, the import CLI): how often the horizon is checked anyway. */
  pollMs?: number;
  /**
   * The horizon's pace while writes keep coming and a reader of this process waits for events (default 2): at most
   * one step, with one NOTIFY to the other processes, per this many milliseconds; a step costs the database about
   * 0.3 ms. With no reader waiting, the pace is 20 ms.
   */
  tickEveryMs?: number;
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

const PAGE = 500;
// Contract v1.3: how long a read may wait for the horizon to cover the writes that settled before it (read your writes).
const SYNC_MS = 100;

const gone = () => new DataError('gone', 'The events after this cursor are no longer kept; resync and follow from the newest event');
const matches = (types: EventType[] | undefined) => (event: Event) => !types || types.includes(event.type);

/** The horizon's thread: its compiled module, or from the TypeScript source (the package's own tests) through tsx. */
function startThread(settings: HorizonSettings, port: MessagePort): Worker {
  const options = { workerData: { settings, port }, transferList: [port], resourceLimits: { maxOldGenerationSizeMb: 64 } };
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./horizon.js', import.meta.url), options);
  const source = JSON.stringify(new URL('./horizon.ts', import.meta.url).href);
  return new Worker(`import { register } from 'tsx/esm/api'; register(); await import(${source});`, { ...options, eval: true });
}

export function createChangeFeed(db: Database, options: FeedOptions = {}) {
  const { retentionDays = 7, pollMs = 250, tickEveryMs = 2, pruneEveryMs = 60_000, pruneBatch = 1_000, onError = () => undefined } = options;
  let thread: Worker | undefined;
  let port: MessagePort | undefined;
  let started = false;
  let closed = false;
  let horizon = -1n;
  let pruner: NodeJS.Timeout | undefined;
  let restart: NodeJS.Timeout | undefined;
  let firstHorizon: Promise<void> | undefined;
  let resolveFirst: () => void = () => undefined;
  let resolveClosed: () => void = () => undefined;
  const listeners = new Set<(advance: Advance) => void>();
  // Reads waiting to read their writes: first for the thread's answer to their sync, then for the horizon it named.
  let syncs = 0;
  const syncWaiters = new Set<{ id: number; answered: (through: bigint) => void }>();
  const horizonWaiters = new Set<{ through: bigint; reached: () => void }>();

  const tell = (message: ToHorizon) => port?.postMessage(message);

  /** The thread's news: the first horizon, each advance (handed to every follower), failures, its end. */
  function heard(message: FromHorizon): void {
    if (message.kind === 'ready') {
      if (message.horizon > horizon) horizon = message.horizon;
      resolveFirst();
    } else if (message.kind === 'advance') {
      if (message.to <= horizon) return;
      horizon = message.to;
      for (const waiter of horizonWaiters) if (waiter.through <= horizon) waiter.reached();
      for (const listener of listeners) listener(message);
    } else if (message.kind === 'synced') {
      for (const waiter of syncWaiters) if (waiter.id <= message.id) waiter.answered(message.through);
    } else if (message.kind === 'error') {
      onError(Object.assign(new Error(message.message), { name: message.name, code: message.code }));
    } else {
      resolveClosed();
    }
  }

  /**
   * Reads the thread's news now, without waiting for the event loop's turn to deliver it: under load a turn runs a
   * request for each of dozens of connections first (W5: 39 ms at p99 between the thread's post and its delivery).
   * Called by the store at the start and end of each of its calls, so a busy server hands each advance to its
   * followers within one call's work; an idle one gets it from the port's message event at once.
   */
  function heed(): void {
    for (let news = port && receiveMessageOnPort(port); news; news = port && receiveMessageOnPort(port)) heard(news.message as FromHorizon);
  }

  /** Starts the thread; should it ever end unasked, a new one goes on from the horizon this one reached. */
  function spawn(): void {
    const channel = new MessageChannel();
    const current = startThread({ url: db.url, connectTimeoutMs: db.connectTimeoutMs, pollMs, tickEveryMs, horizon }, channel.port2);
    thread = current;
    port = channel.port1;
    port.on('message', heard);
    current.on('error', onError);
    current.on('exit', () => {
      if (thread !== current) return;
      thread = undefined;
      // What it posted before it went still counts.
      heed();
      channel.port1.close();
      port = undefined;
      resolveClosed();
      if (!closed) restart = setTimeout(spawn, 1_000);
    });
    if (listeners.size) tell({ kind: 'followers', present: true });
  }

  /** Adds or removes a follower; the thread reads events ahead for the fan-out only while there are any. */
  function follower(listener: (advance: Advance) => void, present: boolean): void {
    const had = listeners.size > 0;
    if (present) listeners.add(listener);
    else listeners.delete(listener);
    if (had !== listeners.size > 0) tell({ kind: 'followers', present: !had });
  }

  /** Starts the horizon's thread and retention; resolves once the first horizon is known. */
  function start(): Promise<void> {
    if (!started) {
      started = true;
      firstHorizon = new Promise((resolve) => (resolveFirst = resolve));
      pruner = setInterval(() => void prune().catch(onError), pruneEveryMs);
      spawn();
    }
    return firstHorizon!;
  }

  /** Called once a write of this process settled (it may have committed): wakes the local readers, and the other processes by NOTIFY. */
  function written(): void {
    if (started && !closed) tell({ kind: 'written' });
    heed();
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

  /**
   * Contract v1.3, the feed reads its own writes: waits, at most SYNC_MS, until the horizon covers every event of a
   * write that settled before this call, in any process (the thread reads the sequence after it was asked). It may not
   * when a transaction that wrote an event is still open; its events then follow once it ends.
   */
  function caughtUp(): Promise<void> {
    if (!port) return Promise.resolve();
    syncs += 1;
    const id = syncs;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        syncWaiters.delete(waiter);
        horizonWaiters.delete(target);
        resolve();
      };
      const target = { through: 0n, reached: done };
      const waiter = {
        id,
        answered: (through: bigint) => {
          syncWaiters.delete(waiter);
          if (through <= horizon) return done();
          target.through = through;
          horizonWaiters.add(target);
        },
      };
      const timer = setTimeout(done, SYNC_MS);
      syncWaiters.add(waiter);
      tell({ kind: 'sync', id });
    });
  }

  /** Starts the feed and waits (up to the connect timeout) for its first horizon; without one the database is down. */
  async function ready(): Promise<void> {
    await within(start(), db.connectTimeoutMs, undefined);
    if (horizon < 0n) throw new DataError('unavailable', 'The database is unavailable');
    await caughtUp();
  }

  async function page(query: FeedQuery & { limit: number }, signal?: AbortSignal): Promise<FeedPage> {
    await ready();
    const upTo = horizon;
    const { items, nextAfter } = await read(query.after, upTo, query.limit, query.types, signal);
    return { items, nextAfter, horizon: String(upTo) };
  }

  /**
   * Resolves once an event after `query.after` of its types is past horizon `since`, or at the timeout or abort. When
   * the advances since `since` carried their events, it resolves with the matching ones, so a woken batch of long polls
   * is answered from memory, not with a query each; otherwise (timeout, abort, an advance too large to carry) with
   * undefined, and the caller reads a page.
   */
  function wait(since: string, query: FeedQuery, timeoutMs: number, signal?: AbortSignal): Promise<Event[] | undefined> {
    const after = BigInt(query.after ?? '0');
    const wanted = matches(query.types);
    let cursor = BigInt(since);
    return new Promise((resolve) => {
      const done = (events?: Event[]) => {
        clearTimeout(timer);
        follower(listener, false);
        signal?.removeEventListener('abort', stop);
        resolve(events);
      };
      const stop = () => done();
      const listener = ({ from, to, events }: Advance) => {
        if (to <= cursor) return;
        // A gap (an advance this waiter did not see) or events too many to carry: the caller reads a page.
        if (!events || from > cursor) return done();
        const found = events.filter((event) => BigInt(event.id) > after && wanted(event));
        if (found.length) return done(found);
        cursor = to;
      };
      const timer = setTimeout(stop, timeoutMs);
      signal?.addEventListener('abort', stop, { once: true });
      follower(listener, true);
      if (horizon > cursor) done();
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
    follower(listener, true);
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
      follower(listener, false);
    }
  }

  /**
   * Deletes events older than the retention window in batches, one instance at a time; returns how many. Each batch
   * is one statement: a transaction that deletes events holds a write lock on them, and the horizon waits for every
   * such transaction, so it must not stay open across round trips (a Sequelize transaction here held one for 670 ms
   * under W5's load, and commit → subscriber's p99 with it). Only a prefix of old events goes, so the watermark
   * stays exact: every id up to it is pruned.
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
    heed,
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
      clearInterval(pruner);
      clearTimeout(restart);
      resolveFirst();
      const current = thread;
      if (!current) return;
      // The thread ends its connection and says so; then it goes.
      await new Promise<void>((resolve) => {
        resolveClosed = resolve;
        tell({ kind: 'close' });
      });
      thread = undefined;
      await current.terminate();
      port?.close();
      port = undefined;
    },
  };
}

export type ChangeFeed = ReturnType<typeof createChangeFeed>;
