/**
 * The router context every request gets (the store, a deadline, the server's closing, the caller's scope), and what
 * lives as long as the server behind it: the change feed, the idempotency-key purge, the database availability log.
 */
import { setMaxListeners } from 'node:events';
import { createContext, type Context } from '@tradeos/api';
import { createCatalogStore, createChangeFeed, isConnectionError, type CatalogStore, type ChangeFeed, type Database } from '@tradeos/db';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { scopeOf } from './auth.js';

/** A request's router context; `holdsMs` is how much longer than the request timeout the call may hold it. */
export type ContextFor = (request: FastifyRequest, reply: FastifyReply, holdsMs?: number) => Context;

export interface ContextOptions {
  db: Database;
  apiKeys: string[];
  requestTimeoutMs: number;
  events: { retentionDays?: number; pollMs?: number };
}

const PURGE_EVERY_MS = 10 * 60_000;
// How often overdue reservations are swept (marked expired, their events appended).
const SWEEP_EVERY_MS = 5_000;

/** The store and its change feed, opened and closed with the server; returns the one way requests get a context, and the feed (for metrics). */
export function registerContext(app: FastifyInstance, { db, apiKeys, requestTimeoutMs, events }: ContextOptions): { contextFor: ContextFor; feed: ChangeFeed } {
  const { feed, store } = openStore(app, db, events);
  const closingFor = closingSignals(app);
  const contextFor = contexts({ store, closingFor, requestTimeoutMs, apiKeys });
  registerUpkeep(app, db, store, feed);
  return { contextFor, feed };
}

function openStore(app: FastifyInstance, db: Database, events: ContextOptions['events']): { feed: ChangeFeed; store: CatalogStore } {
  // The change feed's reader: its own connection (LISTEN, the horizon), opened with the server, closed with it.
  // A lost connection counts toward the database's availability (logged below, password masked); anything else is logged here.
  const feed = createChangeFeed(db, {
    retentionDays: events.retentionDays,
    pollMs: events.pollMs,
    onError: (error) => (isConnectionError(error) ? db.report(error) : app.log.warn({ err: error }, 'change feed')),
  });
  const store = createCatalogStore(db, feed);
  // Started, not awaited: a database that is down answers 503s meanwhile, and the feed catches up once it is back.
  app.addHook('onReady', (done) => {
    void feed.start();
    done();
  });
  return { feed, store };
}

/**
 * Streams and long polls wait for news: closing the server ends them with what they have, so a graceful shutdown
 * need not wait for them. Returns a waiting request's own view of the closing.
 */
function closingSignals(app: FastifyInstance): (reply: FastifyReply) => AbortSignal {
  const closing = new AbortController();
  setMaxListeners(0, closing.signal);
  app.addHook('preClose', (done) => {
    closing.abort(new Error('server closing'));
    done();
  });
  // The listener leaves with the request (a signal combined with the long-lived one by AbortSignal.any would stay
  // referenced from it).
  return (reply) => {
    const controller = new AbortController();
    const abort = () => controller.abort(closing.signal.reason);
    if (closing.signal.aborted) abort();
    else {
      closing.signal.addEventListener('abort', abort, { once: true });
      reply.raw.once('close', () => closing.signal.removeEventListener('abort', abort));
    }
    return controller.signal;
  };
}

/**
 * The one way a request gets its router context. Its signal aborts at the request's deadline or when the client
 * goes away, so no database call outlives the request: a hung database is a 503 on time, an abandoned query is cancelled.
 */
function contexts({ store, closingFor, requestTimeoutMs, apiKeys }: {
  store: CatalogStore;
  closingFor: (reply: FastifyReply) => AbortSignal;
  requestTimeoutMs: number;
  apiKeys: string[];
}): ContextFor {
  return (request, reply, holdsMs = 0) => {
    const controller = new AbortController();
    // A call that may hold its request (a long poll) gets that much longer; a stream has no deadline, only its client.
    const deadline = Number.isFinite(holdsMs) ? setTimeout(() => controller.abort(new Error('request deadline passed')), requestTimeoutMs + holdsMs).unref() : undefined;
    reply.raw.once('close', () => {
      clearTimeout(deadline);
      // Only a client that left before its answer was written abandons work; a finished response has none left.
      if (!reply.raw.writableFinished) controller.abort(new Error('response closed'));
    });
    const key = request.headers['idempotency-key'];
    return createContext({
      store,
      requestId: request.id,
      log: request.log,
      signal: controller.signal,
      closing: holdsMs > 0 ? closingFor(reply) : undefined,
      idempotencyKey: typeof key === 'string' ? key : undefined,
      scope: apiKeys.length ? scopeOf(request) : 'public',
      onReplay: () => void reply.header('idempotent-replayed', 'true'),
    });
  };
}

/** The timer and the watch that run beside the requests, stopped with the feed when the server closes. */
function registerUpkeep(app: FastifyInstance, db: Database, store: CatalogStore, feed: ChangeFeed): void {
  // Expired idempotency keys go in small batches on a timer, off every request's path.
  const purge = setInterval(() => {
    store.purgeIdempotencyKeys().catch((error: unknown) => app.log.warn({ err: error }, 'purging idempotency keys failed'));
  }, PURGE_EVERY_MS).unref();
  // Contract v1.3: overdue reservations are marked expired and their events appended, a batch per tick. Tidying only:
  // every read and write already treats them as expired at their `expires_at`, whether or not this has run.
  const sweep = setInterval(() => {
    store.reservations.sweep().catch((error: unknown) => app.log.warn({ err: error }, 'sweeping expired reservations failed'));
  }, SWEEP_EVERY_MS).unref();
  // Why the database is down, once per change of state (the cause carries no password).
  const unwatch = db.watch((availability) => {
    if (availability.available) app.log.info('database available');
    else app.log.error({ cause: availability.cause }, 'database unavailable');
  });
  app.addHook('onClose', async () => {
    clearInterval(purge);
    clearInterval(sweep);
    unwatch();
    await feed.close();
  });
}
