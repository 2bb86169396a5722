/**
 * The change feed's horizon, on a thread of its own: an id below which no event can still appear, found on a
 * dedicated connection that also LISTENs for other processes' writes (see `feed.ts`, which starts this thread and
 * serves the events).
 *
 * Why a horizon: event ids come from a sequence, so a transaction holding id 10 may commit after one holding id 11;
 * a reader that handed out 11 and moved on would never see 10. Each tick reads M = the sequence's last value, then
 * (in a later statement) W = the transactions of this database that hold a lock on `events` that lets them insert
 * (from `pg_locks`). Every id <= M was taken before that read, by an INSERT into `events` (the id is an identity
 * column: nothing else takes one), and an INSERT locks its table before it takes an id and keeps the lock until its
 * transaction ends. So each transaction holding an id <= M had either ended before W was read or is in W. Once every
 * transaction of W has ended (its lock is gone from a later `pg_locks`: PostgreSQL releases a transaction's locks
 * after its commit is visible), every event <= M is committed or rolled back for good, and a reader may serve
 * `id <= M`. A transaction that is running but has not written an event yet is not waited for: its ids will be
 * above M. Not sound for two-phase commit (PREPARE TRANSACTION), which the catalog does not use, nor for an identity
 * sequence that caches values in each session (CACHE > 1; the migration keeps the default, 1).
 *
 * An earlier horizon waited for every transaction running at a snapshot taken after M (pg_current_snapshot's xip),
 * writer of an event or not, and each tick took an xid to bound it: a transaction left open that had written
 * nothing of the feed's (a report, a job on other tables) held every subscriber back, and a busy feed used up a few
 * hundred xids a second, which brings anti-wraparound vacuums closer. `pg_locks` also names each lock's database
 * and any role may read it, where `pg_stat_activity` hid other roles' sessions. (Commit → subscriber under W5 did
 * not change measurably: F1 p99 25, 25, 33 ms before, 22, 28, 48 ms after, interleaved.)
 *
 * A lock that stays held while `pg_locks` is read is listed, from a backend's fast-path slots or from the main lock
 * table after a transfer (locks move only that way, and the main table is read last): locks taken or released
 * during the read may or may not be, which only makes a candidate wait for more, or settle a step later.
 *
 * Why a thread: a tick is a round trip, and on the server's main thread its answer waited behind every request
 * the event loop had taken in that turn. Under W5's load (64 connections) a tick took 15 ms at the median and 90 ms
 * at p99 there, against 2 and 12 ms for the same query from an idle process, and commit → subscriber was 180 ms at
 * p99 (`pnpm bench`, F1). Here the ticks keep their pace whatever the server is doing; only the hand-over of each
 * advance waits for the main thread.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { Event } from '@tradeos/contract';
import pg from 'pg';
import { EVENT_COLUMNS, toEvent, type EventRow } from '../rows.js';

/** What the feed gives its thread. */
export interface HorizonSettings {
  url: string;
  connectTimeoutMs: number;
  pollMs: number;
  tickEveryMs: number;
  /** The horizon already known (-1 when none): a restarted thread goes on from it. */
  horizon: bigint;
}

/** Events that became safe together: those with ids in (from, to], or undefined when there were too many to carry. */
export interface Advance {
  from: bigint;
  to: bigint;
  events: Event[] | undefined;
}

/**
 * Messages to the thread: a write of this process settled; whether anyone follows (prefetch events); a reader asks
 * which id the horizon must reach to cover every write that settled before it asked (`sync`, numbered); close.
 */
export type ToHorizon = { kind: 'written' } | { kind: 'followers'; present: boolean } | { kind: 'sync'; id: number } | { kind: 'close' };

/** Messages from the thread: the first horizon, each advance, a failure of its connection, and its end. */
export type FromHorizon =
  | { kind: 'ready'; horizon: bigint }
  | ({ kind: 'advance' } & Advance)
  /** Every sync up to `id` is answered: the events of writes that settled before it asked are all <= `through`. */
  | { kind: 'synced'; id: number; through: bigint }
  | { kind: 'error'; name: string; message: string; code: string | undefined }
  | { kind: 'closed' };

const CHANNEL = 'tradeos_events';
// Events the largest in-memory fan-out carries; past it, each follower reads its own pages.
const FANOUT_MAX = 1_000;
// The pace under writes while no reader of this process waits (a page read sees a horizon at most this old, another
// process's follower hears our NOTIFY at most this late). W4 lost a fifth of its req/s to 2-ms steps nobody awaited.
const UNWATCHED_TICK_MS = 20;
// The events' writers: transactions of this database with a granted lock on `events` in a mode that can insert
// (an INSERT takes RowExclusiveLock; stronger modes are listed in case one was taken first, by LOCK TABLE). Readers
// (AccessShareLock) and vacuum (ShareUpdateExclusiveLock) are not writers. A transaction is named by its virtual
// transaction id, which every transaction has, written or not, and which is not reused while PostgreSQL runs.
const WRITERS = `SELECT array(
  SELECT DISTINCT l.virtualtransaction FROM pg_locks l
   WHERE l.locktype = 'relation' AND l.relation = 'events'::regclass AND l.granted
     AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
     AND l.mode IN ('RowExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')) AS writers`;

/** Events up to `through` are safe once every transaction of `writers` (those that held a write lock on `events` after `through` was read) has ended. */
interface Candidate {
  through: bigint;
  writers: Set<string>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function runHorizon(port: MessagePort, settings: HorizonSettings): void {
  const { url, connectTimeoutMs, pollMs, tickEveryMs } = settings;
  let client: pg.Client | undefined;
  let closed = false;
  let horizon = settings.horizon;
  let ready = false;
  let followers = false;
  let candidates: Candidate[] = [];
  let ticking: Promise<void> | undefined;
  let again = false;
  let notifyDue = false;
  // The newest sync asked for, and the newest answered: a tick that starts after a sync arrived answers it.
  let syncAsked = 0;
  let syncAnswered = 0;
  let reconnect: NodeJS.Timeout | undefined;
  const post = (message: FromHorizon) => port.postMessage(message);
  const report = (error: unknown) => {
    const { name = 'Error', message = String(error), code } = error as { name?: string; message?: string; code?: string };
    post({ kind: 'error', name, message, code });
  };

  /** One step: take a candidate, settle it and the earlier ones against the writers that still run, advance the horizon. */
  async function tick(connection: pg.Client): Promise<void> {
    // A NOTIFY this process owes the others rides along, at most one a tick.
    const notify = notifyDue;
    notifyDue = false;
    const answering = syncAsked;
    // With followers, the events past the horizon come along in a last statement (its snapshot is later than the
    // writers that settle a candidate, so every event up to a new horizon is in it); `horizon` is our own number.
    // One implicit transaction, read committed (set at connect): each statement its own snapshot. It takes no xid
    // unless it notifies.
    const prefetch = followers && horizon >= 0n;
    const statements = [
      ...(notify ? [`NOTIFY ${CHANNEL}`] : []),
      'SELECT last_value::text AS last, is_called FROM events_id_seq',
      WRITERS,
      ...(prefetch ? [`SELECT ${EVENT_COLUMNS} FROM events e WHERE e.id > ${horizon} ORDER BY e.id LIMIT ${FANOUT_MAX + 1}`] : []),
    ];
    const results = (await connection.query(statements.join('; '))) as unknown as pg.QueryResult[];
    const [sequence, locks, ahead] = results.slice(notify ? 1 : 0) as [
      pg.QueryResult<{ last: string; is_called: boolean }>,
      pg.QueryResult<{ writers: string[] }>,
      pg.QueryResult<EventRow> | undefined,
    ];
    const seq = sequence.rows[0]!;
    const through = seq.is_called ? BigInt(seq.last) : 0n;
    const writers = new Set(locks.rows[0]!.writers);
    if (answering > syncAnswered) {
      syncAnswered = answering;
      post({ kind: 'synced', id: answering, through });
    }

    let settled = horizon < 0n ? 0n : horizon;
    if (through > settled) candidates.push({ through, writers });
    const waiting: Candidate[] = [];
    for (const candidate of candidates) {
      // A writer keeps its lock until it ends: one still listed still runs.
      const still = [...candidate.writers].filter((writer) => writers.has(writer));
      if (!still.length) {
        if (candidate.through > settled) settled = candidate.through;
      } else {
        waiting.push({ through: candidate.through, writers: new Set(still) });
      }
    }
    // A candidate waiting on a superset of what a newer one waits on settles no earlier than it: drop it.
    candidates = waiting.filter((older, index) => !waiting.slice(index + 1).some((newer) => [...newer.writers].every((writer) => older.writers.has(writer))));
    const first = horizon < 0n;
    if (first) horizon = settled;
    else if (settled > horizon) advance(settled, ahead?.rows);
    // The first horizon stands on a settled candidate: at once when nothing of it was pending, else a tick later.
    if (!ready && (!first || !candidates.length)) {
      ready = true;
      post({ kind: 'ready', horizon });
    }
  }

  /** Moves the horizon to `to`, with the events up to it (all of them, or none when too many). */
  function advance(to: bigint, ahead: EventRow[] | undefined): void {
    const complete = ahead !== undefined && (ahead.length <= FANOUT_MAX || BigInt(ahead.at(-1)!.id) > to);
    const events = complete ? ahead.filter((row) => BigInt(row.id) <= to).map(toEvent) : undefined;
    post({ kind: 'advance', from: horizon, to, events });
    horizon = to;
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
          report(error);
          drop(connection);
          break;
        }
        // At most one tick per `tickEveryMs` however many writes arrive, while someone waits for events; with
        // nobody waiting, one per UNWATCHED_TICK_MS: a busy writer gets a bounded cost either way.
        const asked = syncAsked > syncAnswered;
        if (again || candidates.length || notifyDue || asked) await sleep(followers || asked ? tickEveryMs : UNWATCHED_TICK_MS);
      } while ((again || candidates.length > 0 || notifyDue || syncAsked > syncAnswered) && client);
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
      connectionString: url,
      application_name: 'tradeos-catalog-feed',
      connectionTimeoutMillis: connectTimeoutMs,
      statement_timeout: 5_000,
      query_timeout: 6_000,
    });
    connection.on('notification', requestTick);
    connection.on('error', (error) => {
      report(error);
      drop(connection);
    });
    connection.on('end', () => drop(connection));
    try {
      await connection.connect();
      // Read committed whatever the database's default (each statement of a tick its own snapshot); a tick that
      // notifies takes an xid and commits, and need not wait for its commit record's flush.
      await connection.query(`SET default_transaction_isolation = 'read committed'; SET synchronous_commit = off; LISTEN ${CHANNEL}`);
    } catch (error) {
      report(error);
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

  async function close(): Promise<void> {
    closed = true;
    clearInterval(poll);
    clearTimeout(reconnect);
    const connection = client;
    client = undefined;
    await ticking;
    await connection?.end().catch(() => undefined);
    post({ kind: 'closed' });
    port.close();
  }

  // Fallback for writers that send no NOTIFY (psql, the import CLI): the horizon is checked every `pollMs` anyway.
  const poll = setInterval(requestTick, pollMs);
  port.on('message', (message: ToHorizon) => {
    if (message.kind === 'written') {
      notifyDue = true;
      requestTick();
    } else if (message.kind === 'followers') {
      followers = message.present;
    } else if (message.kind === 'sync') {
      syncAsked = Math.max(syncAsked, message.id);
      requestTick();
    } else {
      void close();
    }
  });
  void connect();
}

if (parentPort) {
  const { settings, port } = workerData as { settings: HorizonSettings; port: MessagePort };
  runHorizon(port, settings);
}
