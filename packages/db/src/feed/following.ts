/**
 * Waiting for events: a long poll's wait for the next matching event, and an endless follow that reads pages until
 * it reaches the horizon, then takes the events each advance carries.
 */
import type { Event, EventType } from '@tradeos/contract';
import type { Advance } from './horizon.js';
import type { EventsRead } from './paging.js';
import type { HorizonThread } from './thread.js';

const PAGE = 500;
// A consumer that lags this many advances behind gets one marker and reads pages instead of holding every event in memory.
const QUEUE_MAX = 64;

export interface FeedQuery {
  /** Only events after this id; omitted: from the oldest event kept. */
  after?: string;
  types?: EventType[];
}

/** A page of at most `limit` events after `after`, up to `upTo`. */
export type PageReader = (after: string | undefined, upTo: bigint, limit: number, signal?: AbortSignal) => Promise<EventsRead>;

export const matches = (types: EventType[] | undefined) => (event: Event) => !types || types.includes(event.type);

/**
 * Resolves once an event after `query.after` of its types is past horizon `since`, or at the timeout or abort. When
 * the advances since `since` carried their events, it resolves with the matching ones, so a woken batch of long polls
 * is answered from memory, not with a query each; otherwise (timeout, abort, an advance too large to carry) with
 * undefined, and the caller reads a page.
 */
export function waitForEvents(
  thread: HorizonThread,
  since: string,
  query: FeedQuery,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Event[] | undefined> {
  const after = BigInt(query.after ?? '0');
  const wanted = matches(query.types);
  let cursor = BigInt(since);
  return new Promise((resolve) => {
    const done = (events?: Event[]) => {
      clearTimeout(timer);
      thread.follower(listener, false);
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
    thread.follower(listener, true);
    if (thread.horizon > cursor) done();
  });
}

/** The advances a follower has not taken yet, and a way to wait for the next one. */
class Inbox {
  readonly queue: Advance[] = [];
  private wake: () => void = () => undefined;
  private readonly aborted: Promise<void>;

  constructor(private readonly signal: AbortSignal) {
    this.aborted = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  }

  readonly listener = (next: Advance) => {
    if (this.queue.length >= QUEUE_MAX) this.queue.splice(0, this.queue.length, { from: this.queue[0]!.from, to: next.to, events: undefined });
    else this.queue.push(next);
    this.wake();
  };

  /** The next advance, or undefined once the signal aborted. */
  async next(): Promise<Advance | undefined> {
    while (!this.queue.length && !this.signal.aborted) await Promise.race([new Promise<void>((resolve) => (this.wake = resolve)), this.aborted]);
    return this.signal.aborted ? undefined : this.queue.shift();
  }
}

/**
 * Every event after `query.after`, endlessly: pages from the database until at the horizon, then the events each
 * advance carries (read once for all followers), back to pages whenever it falls behind. Ends when `signal` aborts.
 */
export async function* followEvents(thread: HorizonThread, read: PageReader, query: FeedQuery, signal: AbortSignal): AsyncGenerator<Event> {
  const wanted = matches(query.types);
  const inbox = new Inbox(signal);
  thread.follower(inbox.listener, true);
  try {
    let after = query.after;
    for (;;) {
      // Catch up from the database up to the horizon.
      let cursor: bigint;
      for (;;) {
        const upTo = thread.horizon;
        const { items, nextAfter } = await read(after, upTo, PAGE, signal);
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
        const next = await inbox.next();
        if (!next) return;
        if (next.to <= cursor) continue;
        if (!next.events || next.from > cursor) break;
        for (const event of next.events) if (BigInt(event.id) > cursor && wanted(event)) yield event;
        cursor = next.to;
        after = String(cursor);
      }
    }
  } finally {
    thread.follower(inbox.listener, false);
  }
}
