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
 * The horizon handed out is not M itself but the newest event committed at or below it (read after W ended). A
 * sequence's values are durable only once WAL past them is flushed, which a commit does and a rollback does not: after
 * a crash (an immediate shutdown, a killed postmaster) PostgreSQL hands out again the ids of transactions that never
 * committed. A horizon at M, past such an id, would let every follower step over the event that takes it after the
 * restart. A committed event's id is never handed out again, so neither is any id at or below the horizon. Reads
 * that wait for their writes compare with M (`settled`), which a rolled-back id still moves on. After a reconnect the
 * thread starts over from the horizon: candidates and M read before a restart name transactions and ids that mean
 * nothing after it. (The catalog's writers commit with `synchronous_commit` on; one that turned it off could have a
 * committed event lost by a crash after a follower received it.)
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

/**
 * Messages from the thread: the first horizon, each advance, each new `settled` (every id up to it is final, committed
 * or not: a sync's `through` is covered once `settled` reaches it), a failure of its connection, and its end.
 */
export type FromHorizon =
  | { kind: 'ready'; horizon: bigint; settled: bigint }
  | ({ kind: 'advance' } & Advance)
  | { kind: 'settled'; through: bigint }
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

/** The first statements' answers of one step: the sequence's last id, the writers running after it was read. */
interface Reading {
  through: bigint;
  writers: Set<string>;
  ahead: EventRow[] | undefined;
}

/**
 * Settles `candidates` (plus a new one for `reading`) against the writers that still run: returns the highest id
 * every earlier writer of which has ended, and the candidates that still wait.
 */
function settle(candidates: Candidate[], reading: Reading, horizon: bigint): { settled: bigint; waiting: Candidate[] } {
  let settled = horizon < 0n ? 0n : horizon;
  const all = reading.through > settled ? [...candidates, { through: reading.through, writers: reading.writers }] : candidates;
  const waiting: Candidate[] = [];
  for (const candidate of all) {
    // A writer keeps its lock until it ends: one still listed still runs.
    const still = [...candidate.writers].filter((writer) => reading.writers.has(writer));
    if (!still.length) {
      if (candidate.through > settled) settled = candidate.through;
    } else {
      waiting.push({ through: candidate.through, writers: new Set(still) });
    }
  }
  // A candidate waiting on a superset of what a newer one waits on settles no earlier than it: drop it.
  const kept = waiting.filter((older, index) => !waiting.slice(index + 1).some((newer) => [...newer.writers].every((writer) => older.writers.has(writer))));
  return { settled, waiting: kept };
}

/** The thread's one job: connect and LISTEN, step the horizon on each wake-up, notify, tell the feed. */
class Horizon {
  private client: pg.Client | undefined;
  private closed = false;
  // The newest committed event at or below `settled` (what readers may serve), and the id up to which all are final.
  private horizon: bigint;
  private settled: bigint;
  private ready = false;
  private followers = false;
  private candidates: Candidate[] = [];
  private ticking: Promise<void> | undefined;
  private again = false;
  private notifyDue = false;
  // The newest sync asked for, and the newest answered: a tick that starts after a sync arrived answers it.
  private syncAsked = 0;
  private syncAnswered = 0;
  private reconnect: NodeJS.Timeout | undefined;
  private readonly poll: NodeJS.Timeout;

  constructor(
    private readonly port: MessagePort,
    private readonly settings: HorizonSettings,
  ) {
    this.horizon = settings.horizon;
    this.settled = settings.horizon;
    // Fallback for writers that send no NOTIFY (psql, the import CLI): the horizon is checked every `pollMs` anyway.
    this.poll = setInterval(() => this.requestTick(), settings.pollMs);
    port.on('message', (message: ToHorizon) => this.heard(message));
    void this.connect();
  }

  private post(message: FromHorizon): void {
    this.port.postMessage(message);
  }

  private report(error: unknown): void {
    const { name = 'Error', message = String(error), code } = error as { name?: string; message?: string; code?: string };
    this.post({ kind: 'error', name, message, code });
  }

  private heard(message: ToHorizon): void {
    if (message.kind === 'written') {
      this.notifyDue = true;
      this.requestTick();
    } else if (message.kind === 'followers') {
      this.followers = message.present;
    } else if (message.kind === 'sync') {
      this.syncAsked = Math.max(this.syncAsked, message.id);
      this.requestTick();
    } else {
      void this.close();
    }
  }

  /**
   * One round trip: a NOTIFY this process owes the others (at most one a tick), the sequence, the writers, and with
   * followers the events past the horizon, in a last statement (its snapshot is later than the writers that settle a
   * candidate, so every event up to a new horizon is in it); `horizon` is our own number. One implicit transaction,
   * read committed (set at connect): each statement its own snapshot. It takes no xid unless it notifies.
   */
  private async read(connection: pg.Client, notify: boolean): Promise<Reading> {
    const prefetch = this.followers && this.horizon >= 0n;
    const statements = [
      ...(notify ? [`NOTIFY ${CHANNEL}`] : []),
      'SELECT last_value::text AS last, is_called FROM events_id_seq',
      WRITERS,
      ...(prefetch ? [`SELECT ${EVENT_COLUMNS} FROM events e WHERE e.id > ${this.horizon} ORDER BY e.id LIMIT ${FANOUT_MAX + 1}`] : []),
    ];
    const results = (await connection.query(statements.join('; '))) as unknown as pg.QueryResult[];
    const [sequence, locks, ahead] = results.slice(notify ? 1 : 0) as [
      pg.QueryResult<{ last: string; is_called: boolean }>,
      pg.QueryResult<{ writers: string[] }>,
      pg.QueryResult<EventRow> | undefined,
    ];
    const seq = sequence.rows[0]!;
    return { through: seq.is_called ? BigInt(seq.last) : 0n, writers: new Set(locks.rows[0]!.writers), ahead: ahead?.rows };
  }

  /** One step: read, answer the syncs asked before it, settle the candidates against the writers that still run, advance. */
  private async tick(connection: pg.Client): Promise<void> {
    const notify = this.notifyDue;
    this.notifyDue = false;
    const answering = this.syncAsked;
    const reading = await this.read(connection, notify);
    if (answering > this.syncAnswered) {
      this.syncAnswered = answering;
      this.post({ kind: 'synced', id: answering, through: reading.through });
    }
    const { settled, waiting } = settle(this.candidates, reading, this.settled);
    this.candidates = waiting;
    const first = this.horizon < 0n;
    if (first || settled > this.settled) {
      const newest = await this.newestCommitted(connection, settled, reading.ahead);
      this.settled = settled;
      if (first) this.horizon = newest;
      else if (newest > this.horizon) this.advance(newest, reading.ahead);
      if (!first) this.post({ kind: 'settled', through: settled });
    }
    // The first horizon stands on a settled candidate: at once when nothing of it was pending, else a tick later.
    if (!this.ready && (!first || !this.candidates.length)) {
      this.ready = true;
      this.post({ kind: 'ready', horizon: this.horizon, settled: this.settled });
    }
  }

  /**
   * The newest committed event in (horizon, settled], or the horizon when there is none: from the events read ahead
   * when they reach past `settled`, else by a query (one index probe). Either snapshot is later than the writers that
   * settled `settled`, so each event of theirs that committed is in it.
   */
  private async newestCommitted(connection: pg.Client, settled: bigint, ahead: EventRow[] | undefined): Promise<bigint> {
    const floor = this.horizon < 0n ? 0n : this.horizon;
    if (settled <= floor) return floor;
    if (ahead !== undefined && (ahead.length <= FANOUT_MAX || BigInt(ahead.at(-1)!.id) > settled)) {
      const within = ahead.filter((row) => BigInt(row.id) <= settled);
      return within.length ? BigInt(within.at(-1)!.id) : floor;
    }
    const { rows } = await connection.query<{ id: string | null }>('SELECT max(id)::text AS id FROM events WHERE id > $1 AND id <= $2', [String(floor), String(settled)]);
    return rows[0]?.id ? BigInt(rows[0].id) : floor;
  }

  /** Moves the horizon to `to`, with the events up to it (all of them, or none when too many). */
  private advance(to: bigint, ahead: EventRow[] | undefined): void {
    const complete = ahead !== undefined && (ahead.length <= FANOUT_MAX || BigInt(ahead.at(-1)!.id) > to);
    const events = complete ? ahead.filter((row) => BigInt(row.id) <= to).map(toEvent) : undefined;
    this.post({ kind: 'advance', from: this.horizon, to, events });
    this.horizon = to;
  }

  /** Whether another tick is due: a wake-up came during this one, candidates wait, a NOTIFY or a sync is owed. */
  private pending(): boolean {
    return this.again || this.candidates.length > 0 || this.notifyDue || this.syncAsked > this.syncAnswered;
  }

  /** Ticks until nothing is pending: at once on a wake-up, then every few milliseconds while candidates wait. */
  private requestTick(): void {
    if (this.ticking) {
      this.again = true;
      return;
    }
    this.ticking = this.ticks().finally(() => (this.ticking = undefined));
  }

  private async ticks(): Promise<void> {
    do {
      this.again = false;
      const connection = this.client;
      if (!connection) break;
      try {
        await this.tick(connection);
      } catch (error) {
        this.report(error);
        this.drop(connection);
        break;
      }
      // At most one tick per `tickEveryMs` however many writes arrive, while someone waits for events; with
      // nobody waiting, one per UNWATCHED_TICK_MS: a busy writer gets a bounded cost either way.
      const asked = this.syncAsked > this.syncAnswered;
      if (this.pending()) await sleep(this.followers || asked ? this.settings.tickEveryMs : UNWATCHED_TICK_MS);
    } while (this.pending() && this.client);
  }

  private drop(connection: pg.Client): void {
    if (this.client !== connection) return;
    this.client = undefined;
    void connection.end().catch(() => undefined);
    if (!this.closed) this.reconnect = setTimeout(() => void this.connect(), 1_000);
  }

  private async connect(): Promise<void> {
    const connection = new pg.Client({
      connectionString: this.settings.url,
      application_name: 'tradeos-catalog-feed',
      connectionTimeoutMillis: this.settings.connectTimeoutMs,
      statement_timeout: 5_000,
      query_timeout: 6_000,
    });
    connection.on('notification', () => this.requestTick());
    connection.on('error', (error) => {
      this.report(error);
      this.drop(connection);
    });
    connection.on('end', () => this.drop(connection));
    try {
      await connection.connect();
      // Read committed whatever the database's default (each statement of a tick its own snapshot); a tick that
      // notifies takes an xid and commits, and need not wait for its commit record's flush.
      await connection.query(`SET default_transaction_isolation = 'read committed'; SET synchronous_commit = off; LISTEN ${CHANNEL}`);
    } catch (error) {
      this.report(error);
      this.client = connection;
      this.drop(connection);
      return;
    }
    if (this.closed) {
      await connection.end();
      return;
    }
    this.client = connection;
    // Start over from the horizon: what was read before the connection went may predate a restart of PostgreSQL.
    this.candidates = [];
    if (this.settled !== this.horizon) {
      this.settled = this.horizon;
      if (this.ready) this.post({ kind: 'settled', through: this.settled });
    }
    // Anything committed while the connection was down is caught up by this first tick.
    this.requestTick();
  }

  private async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.poll);
    clearTimeout(this.reconnect);
    const connection = this.client;
    this.client = undefined;
    await this.ticking;
    await connection?.end().catch(() => undefined);
    this.post({ kind: 'closed' });
    this.port.close();
  }
}

if (parentPort) {
  const { settings, port } = workerData as { settings: HorizonSettings; port: MessagePort };
  new Horizon(port, settings);
}
