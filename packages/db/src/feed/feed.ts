/**
 * `feed/`: the change feed: the reader (`feed.ts`, this file), its pages (`paging.ts`), waits and follows
 * (`following.ts`), retention (`pruning.ts`), and the horizon's thread (`horizon.ts`, run by `thread.ts`). May
 * import `connection/`, `errors`, `rows`; nothing of `store/`, `schema/`, `ops/`.
 *
 * The change feed's reader: pages and endless follows for consumers, and retention. The events themselves are
 * appended by the database's triggers (migration 2026.11.30T10.00.00), in the transaction of every change. Which
 * events may be handed out (the commit-safe horizon) is found by a thread of its own (`horizon.ts`, started and heard
 * by `thread.ts`), which also holds the dedicated connection that LISTENs for other processes' writes; each advance
 * of the horizon arrives here with its events and wakes the waiting readers (`following.ts`). Pages: `paging.ts`;
 * retention: `pruning.ts`.
 */
import type { Event } from '@tradeos/contract';
import { within, type Database } from '../connection/database.js';
import { DataError } from '../errors.js';
import { followEvents, waitForEvents, type FeedQuery } from './following.js';
import { readEvents } from './paging.js';
import { prune } from './pruning.js';
import { HorizonThread } from './thread.js';

export type { FeedQuery } from './following.js';

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

export interface FeedPage {
  items: Event[];
  /** The `after` of the next call. */
  nextAfter: string;
  /** The horizon this page was read under: `wait(since: horizon)` wakes for anything newer. */
  horizon: string;
}

export function createChangeFeed(db: Database, options: FeedOptions = {}) {
  const { retentionDays = 7, pollMs = 250, tickEveryMs = 2, pruneEveryMs = 60_000, pruneBatch = 1_000, onError = () => undefined } = options;
  const thread = new HorizonThread({ url: db.directUrl, connectTimeoutMs: db.connectTimeoutMs, pollMs, tickEveryMs }, onError);
  let pruner: NodeJS.Timeout | undefined;
  let closed = false;

  const pruneOld = () => prune(db, () => thread.horizon, { retentionDays, batch: pruneBatch }, () => closed);

  /** Starts the horizon's thread and retention; resolves once the first horizon is known. */
  function start(): Promise<void> {
    pruner ??= setInterval(() => void pruneOld().catch(onError), pruneEveryMs);
    return thread.start();
  }

  /** Starts the feed and waits (up to the connect timeout) for its first horizon; without one the database is down. */
  async function ready(): Promise<void> {
    await within(start(), db.connectTimeoutMs, undefined);
    if (thread.horizon < 0n) throw new DataError('unavailable', 'The database is unavailable');
    await thread.caughtUp();
  }

  return {
    start,
    /** Called once a write of this process settled (it may have committed): wakes the local readers, and the other processes by NOTIFY. */
    written: (): void => {
      thread.written();
      thread.heed();
    },
    /** Reads the thread's news now (see `HorizonThread.heed`). */
    heed: () => thread.heed(),
    async page(query: FeedQuery & { limit: number }, signal?: AbortSignal): Promise<FeedPage> {
      await ready();
      const upTo = thread.horizon;
      const { items, nextAfter } = await readEvents(db, { after: query.after, upTo, limit: query.limit, types: query.types }, signal);
      return { items, nextAfter, horizon: String(upTo) };
    },
    wait: (since: string, query: FeedQuery, timeoutMs: number, signal?: AbortSignal) => waitForEvents(thread, since, query, timeoutMs, signal),
    async *follow(query: FeedQuery, signal: AbortSignal): AsyncGenerator<Event> {
      await ready();
      yield* followEvents(thread, (after, upTo, limit, pageSignal) => readEvents(db, { after, upTo, limit, types: query.types }, pageSignal), query, signal);
    },
    prune: pruneOld,
    /** The id up to which every event is committed or rolled back for good (as this process last saw it). */
    get horizon() {
      return String(thread.horizon < 0n ? 0n : thread.horizon);
    },
    async close() {
      closed = true;
      clearInterval(pruner);
      await thread.close();
    },
  };
}

export type ChangeFeed = ReturnType<typeof createChangeFeed>;
