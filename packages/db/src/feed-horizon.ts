/**
 * The change feed's horizon, on a thread of its own: an id below which no event can still appear, found on a
 * dedicated connection that also LISTENs for other processes' writes (see `feed.ts`, which starts this thread and
 * serves the events).
 *
 * Why a horizon: event ids come from a sequence, so a transaction holding id 10 may commit after one holding id 11;
 * a reader that handed out 11 and moved on would never see 10. Each tick reads M = the sequence's last value, then
 * (in a later statement) a snapshot S. Every id <= M was taken by a transaction that had its xid before S (an event
 * row is written after the row it records), so that transaction had either finished by S or was running then. Once
 * every transaction running at S has ended, every event <= M is committed or rolled back for good, and a reader may
 * serve `id <= M`. (Running at S: S's xip, plus running xids at or past S's xmax, which a snapshot leaves out: see
 * Candidate.) Not sound for two-phase commit (PREPARE TRANSACTION), which the catalog does not use.
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
import { EVENT_COLUMNS, toEvent, type EventRow } from './rows.js';

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

/** Messages to the thread: a write of this process settled; whether anyone follows (prefetch events); close. */
export type ToHorizon = { kind: 'written' } | { kind: 'followers'; present: boolean } | { kind: 'close' };

/** Messages from the thread: the first horizon, each advance, a failure of its connection, and its end. */
export type FromHorizon =
  | { kind: 'ready'; horizon: bigint }
  | ({ kind: 'advance' } & Advance)
  | { kind: 'error'; name: string; message: string; code: string | undefined }
  | { kind: 'closed' };

const CHANNEL = 'tradeos_events';
// Events the largest in-memory fan-out carries; past it, each follower reads its own pages.
const FANOUT_MAX = 1_000;
// The pace under writes while no reader of this process waits (a page read sees a horizon at most this old, another
// process's follower hears our NOTIFY at most this late). W4 lost a fifth of its req/s to 2-ms steps nobody awaited.
const UNWATCHED_TICK_MS = 20;
// A candidate is taken in a transaction of its own, whose commit makes its xid a bound for the settling snapshot that
// follows in the same round trip. Read committed, whatever the database's default: each statement its own snapshot.
// The last statement also lists the transactions of other databases of the server (a snapshot lists them too), which
// cannot hold one of this database's events: they need not be waited for. (A role that may not see other sessions
// sees none.)
const CANDIDATE = [
  'SELECT last_value::text AS last, is_called FROM events_id_seq',
  'SELECT pg_current_snapshot()::text AS snapshot, pg_current_xact_id()::text AS next',
];
// (`pg_stat_get_activity`, the function under the `pg_stat_activity` view: the view's joins cost three times the rest
// of the statement, 440 against 137 µs a call in pgbench.)
const SETTLE = `SELECT pg_current_snapshot()::text AS snapshot, array(
  SELECT a.backend_xid::text FROM pg_stat_get_activity(NULL) a
   WHERE a.backend_xid IS NOT NULL AND a.datid IS DISTINCT FROM (SELECT oid FROM pg_database WHERE datname = current_database())) AS elsewhere`;

/**
 * Events up to `through` are safe once every transaction that may hold one has ended: those in the snapshot's xip,
 * and those at or past its xmax (a snapshot leaves running xids >= xmax out of xip) but below `to`, the xid the tick
 * took right after the snapshot, so above every xid assigned before it. Once that xid committed, a later snapshot
 * lists all of them that still run; from then on the candidate keeps those as its `xip`.
 */
interface Candidate {
  through: bigint;
  xip: Set<string>;
  from: bigint;
  to: bigint;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const snapshotParts = (text: string) => {
  const [, xmax = '0', xip = ''] = text.split(':');
  return { xmax, xip: xip ? xip.split(',') : [] };
};

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
  let reconnect: NodeJS.Timeout | undefined;
  const post = (message: FromHorizon) => port.postMessage(message);
  const report = (error: unknown) => {
    const { name = 'Error', message = String(error), code } = error as { name?: string; message?: string; code?: string };
    post({ kind: 'error', name, message, code });
  };

  /** One step: take a candidate, settle it and the earlier ones against a later snapshot, advance the horizon. */
  async function tick(connection: pg.Client): Promise<void> {
    // A NOTIFY this process owes the others rides along, at most one a tick.
    const notify = notifyDue;
    notifyDue = false;
    // With followers, the events past the horizon come along in a last statement (its snapshot is later than the
    // one that settles a candidate, so every event up to a new horizon is in it); `horizon` is our own number.
    const prefetch = followers && horizon >= 0n;
    const statements = [
      'BEGIN ISOLATION LEVEL READ COMMITTED',
      ...(notify ? [`NOTIFY ${CHANNEL}`] : []),
      ...CANDIDATE,
      'COMMIT',
      SETTLE,
      ...(prefetch ? [`SELECT ${EVENT_COLUMNS} FROM events e WHERE e.id > ${horizon} ORDER BY e.id LIMIT ${FANOUT_MAX + 1}`] : []),
    ];
    const results = (await connection.query(statements.join('; '))) as unknown as pg.QueryResult[];
    const [sequence, taken, , later, ahead] = results.slice(notify ? 2 : 1) as [
      pg.QueryResult<{ last: string; is_called: boolean }>,
      pg.QueryResult<{ snapshot: string; next: string }>,
      pg.QueryResult,
      pg.QueryResult<{ snapshot: string; elsewhere: string[] }>,
      pg.QueryResult<EventRow> | undefined,
    ];
    const seq = sequence.rows[0]!;
    const through = seq.is_called ? BigInt(seq.last) : 0n;
    // pg_stat_activity shows 32-bit xids, the snapshot 64-bit ones (epoch and xid): compare their low 32 bits.
    const elsewhere = new Set(later.rows[0]!.elsewhere);
    const ours = (xids: string[]) => xids.filter((xid) => !elsewhere.has(String(BigInt(xid) & 0xffff_ffffn)));
    const candidate = snapshotParts(taken.rows[0]!.snapshot);
    const running = ours(snapshotParts(later.rows[0]!.snapshot).xip);

    let settled = horizon < 0n ? 0n : horizon;
    if (through > settled) candidates.push({ through, xip: new Set(ours(candidate.xip)), from: BigInt(candidate.xmax), to: BigInt(taken.rows[0]!.next) });
    const waiting: Candidate[] = [];
    for (const { through: upTo, xip, from, to } of candidates) {
      // The settling snapshot lists every transaction still running below its xmax, which is past each bound.
      const still = running.filter((xid) => xip.has(xid) || (BigInt(xid) >= from && BigInt(xid) < to));
      if (!still.length) {
        if (upTo > settled) settled = upTo;
      } else {
        waiting.push({ through: upTo, xip: new Set(still), from: 0n, to: 0n });
      }
    }
    // A candidate waiting on a superset of what a newer one waits on settles no earlier than it: drop it.
    candidates = waiting.filter((older, index) => !waiting.slice(index + 1).some((newer) => [...newer.xip].every((xid) => older.xip.has(xid))));
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
        if (again || candidates.length || notifyDue) await sleep(followers ? tickEveryMs : UNWATCHED_TICK_MS);
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
      // Each tick takes an xid and commits; it need not wait for its commit record's flush.
      await connection.query(`SET synchronous_commit = off; LISTEN ${CHANNEL}`);
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
