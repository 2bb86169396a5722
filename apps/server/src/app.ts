/**
 * The Fastify application, built around a database handle it is given: request ids, the contract's JSON
 * errors, the health check, tRPC at /trpc and the same router as REST at the root paths.
 * main.ts owns listening and shutdown; tests build it on a database of their own.
 */
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { appRouter, createCaller, createContext, errorHeaders } from '@tradeos/api';
import { codeForStatus, ERRORS, operations, type Operation } from '@tradeos/contract';
import { createCatalogStore, createChangeFeed, isConnectionError, type Database } from '@tradeos/db';
import { fastifyRequestHandler } from '@trpc/server/adapters/fastify';
import cors from '@fastify/cors';
import helmet from 'helmet';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { scopeOf, writeProtection } from './auth.js';
import { clientErrorHandler, frameworkErrors, rejectUndecodableQuery } from './client-errors.js';
import { BadBody, registerJsonBody, rejectImpreciseNumbers } from './body.js';
import { registerDrain } from './drain.js';
import { registerEventStream } from './event-stream.js';
import { rejectRepeatedHeaders } from './headers.js';
import { lingerOnEarlyClose, refuseOversizedContinue } from './lingering-close.js';
import { acceptEveryMethod, UNSERVED_METHODS } from './methods.js';
import { openApiDocument } from './openapi.js';
import { MemoryStore, registerRateLimit, type RateLimitStore } from './rate-limit.js';
import { registerRest } from './rest.js';
import { registerSwaggerUi } from './swagger-ui.js';

export interface AppOptions {
  db: Database;
  logger?: FastifyServerOptions['logger'];
  /** Keys accepted as `Authorization: Bearer <key>` on every write; empty means writes are open. */
  apiKeys?: string[];
  /** Longest time a request may take, body included, before the server gives up on it. */
  requestTimeoutMs?: number;
  /** Browser origins allowed to call the API (`*` for any); empty keeps CORS closed. */
  corsOrigins?: string[];
  /**
   * Calls per client IP per window (each call of a tRPC batch counts); 0 turns the limit off. /health is
   * never limited. The store defaults to this process's memory; WORKERS and instances share one.
   */
  rateLimit?: { max: number; windowMs: number; store?: RateLimitStore };
  /** Most procedure calls in one tRPC batch; a larger batch is a 400. */
  maxBatchSize?: number;
  /**
   * The share of requests (0–1) that get their one `request completed` line at `info`; 0 logs none. Failures
   * (5xx) are logged by the error handler whatever this says.
   */
  requestLogSample?: number;
  /**
   * The change feed: how long events are kept, how often an idle event stream sends a comment line, and how often
   * the feed looks for writes nobody announced by NOTIFY (psql, the import CLI).
   */
  events?: { retentionDays?: number; heartbeatMs?: number; pollMs?: number };
  /**
   * Closing, resolves once no process accepts connections on this server's port any longer (WORKERS: the primary
   * says so); idle connections are closed only then. By default, as soon as this one stopped.
   */
  listenerClosed?: () => Promise<void>;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Helmet's security headers, computed once by running its middleware on a response that is never sent
 * (@fastify/helmet built the middleware anew on every request). The CSP still lets the same-origin Swagger UI run.
 */
const SECURITY_HEADERS = (() => {
  const response = new ServerResponse(new IncomingMessage(new Socket()));
  helmet({
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        styleSrc: ["'self'", "'unsafe-inline'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        frameAncestors: ["'none'"],
      },
    },
  })(response.req, response, () => undefined);
  return response.getHeaders();
})();

const PURGE_EVERY_MS = 10 * 60_000;
// How often overdue reservations are swept (marked expired, their events appended).
const SWEEP_EVERY_MS = 5_000;
const BODY_LIMIT = 1024 * 1024;

function httpError(statusCode: number, message: string): Error & { statusCode: number } {
  return Object.assign(new Error(message), { statusCode });
}

// Statuses Fastify raises before a handler runs, answered with the contract's code and message.
const FRAMEWORK_ERRORS = new Set([400, 413, 415]);

/**
 * One log line per request where Fastify writes two (`incoming request`, then `request completed`), and only for
 * a sampled share of the successful ones; a failed response is always logged.
 */
class RequestLog extends LogController {
  constructor(private readonly sample: number) {
    super();
  }

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    else if (this.sample >= 1 || Math.random() < this.sample) reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}

/** How much longer than the request timeout a tRPC call may hold its request (a long poll; a subscription: forever). */
function trpcHolds(path: string): number {
  const held = path.split(',').map((name) => {
    const operation = (operations as Record<string, Operation | undefined>)[name];
    return operation?.stream ? Infinity : (operation?.holdsMs ?? 0);
  });
  return Math.max(0, ...held);
}

/**
 * True when tRPC will run the request as a batch. tRPC's own test (@trpc/server's jsonContentTypeHandler):
 * `new URL(req.url).searchParams.get("batch") === "1"`, the first `batch` decoded as URLSearchParams decodes, so
 * `?batch=1&batch=1` and `?batch=%31` are batches too, which Fastify's parsed query does not say.
 */
function isTrpcBatch(request: FastifyRequest): boolean {
  try {
    return new URL(request.url, 'http://localhost').searchParams.get('batch') === '1';
  } catch {
    // tRPC refuses a URL it cannot parse (400) before running any call.
    return false;
  }
}

/** How many procedures a request calls: those of a tRPC batch (`/trpc/a,b,c?batch=1`), else one. */
function trpcCalls(request: FastifyRequest): number {
  if (request.routeOptions.url !== '/trpc/:path' || !isTrpcBatch(request)) return 1;
  return (request.params as { path: string }).path.split(',').length;
}

export function buildApp({
  db,
  logger = false,
  apiKeys = [],
  requestTimeoutMs = 15_000,
  corsOrigins = [],
  rateLimit = { max: 0, windowMs: 60_000 },
  maxBatchSize = 10,
  requestLogSample = 1,
  events = {},
  listenerClosed,
}: AppOptions): FastifyInstance {
  const app: FastifyInstance = Fastify({
    logger,
    logController: new RequestLog(requestLogSample),
    bodyLimit: BODY_LIMIT,
    // Node checks request deadlines every 30 s by default: check every second, so a slow client is cut off on time.
    serverFactory: (handler) => {
      const server = createServer({ requestTimeout: requestTimeoutMs, headersTimeout: Math.min(requestTimeoutMs, 10_000), connectionsCheckingInterval: 1_000 }, handler);
      refuseOversizedContinue(server, handler, BODY_LIMIT);
      lingerOnEarlyClose(server, { maxMs: 2_000, maxBytes: 4 * BODY_LIMIT });
      return server;
    },
    // A long path segment is a bad id or name (422 from validation), never Fastify's bare 414.
    routerOptions: { maxParamLength: 16_384 },
    // Closing, a request already received on a kept-alive connection is served (with `Connection: close`), never
    // refused with Fastify's own 503 body; idle connections are closed once what was sent is read (drain.ts).
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    clientErrorHandler: clientErrorHandler(() => app.server, () => app.log),
    frameworkErrors,
    requestIdHeader: false,
    genReqId: (request) => {
      const incoming = request.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
  });

  // First of all hooks, so the drain knows every request from its first hook on.
  registerDrain(app, listenerClosed);

  const notFound = (request: FastifyRequest, reply: FastifyReply) =>
    reply.code(404).send({ code: 'NOT_FOUND', message: `Route ${request.method} ${request.url.split('?')[0]} not found` });

  acceptEveryMethod(app);
  // A query string that does not decode is a 400 before anything else (rate limit, 404, 405), as a bad path is.
  app.addHook('onRequest', rejectUndecodableQuery);
  if (corsOrigins.length) {
    const anyOrigin = corsOrigins.includes('*');
    void app.register(cors, {
      // An origin not configured gets no CORS at all, so its OPTIONS falls through to the path's 405.
      origin: (origin, callback) => callback(null, anyOrigin ? '*' : origin !== undefined && corsOrigins.includes(origin) ? origin : false),
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['content-type', 'authorization', 'x-request-id', 'idempotency-key', 'if-match', 'if-none-match'],
      exposedHeaders: ['x-request-id', 'location', 'retry-after', 'etag', 'idempotent-replayed'],
    });
  }
  if (rateLimit.max > 0) {
    registerRateLimit(app, { max: rateLimit.max, store: rateLimit.store ?? new MemoryStore(rateLimit.windowMs), weigh: trpcCalls });
  }

  app.addHook('onRequest', (request, reply, done) => {
    void reply.headers(SECURITY_HEADERS).header('x-request-id', request.id);
    done();
  });
  // An unknown route is a 404 before anything else: its body is never read, so no 400/413/415 can win.
  app.addHook('preParsing', async (request, reply) => {
    if (request.is404) return notFound(request, reply);
  });
  app.setNotFoundHandler(notFound);

  // JSON only, checked before it is parsed. Any other media type (text/plain and multipart/form-data
  // included, at /trpc too): read at most the limit (so an oversized one is a 413), then refuse it with 415.
  registerJsonBody(app);
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, _body, done) => {
    done(httpError(415, ERRORS.UNSUPPORTED_MEDIA_TYPE.message), undefined);
  });

  app.setErrorHandler(async (error: { statusCode?: number; message: string }, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 500) {
      request.log.error({ err: error }, 'unhandled error');
      return reply.code(500).send({ code: 'INTERNAL_SERVER_ERROR', message: ERRORS.INTERNAL_SERVER_ERROR.message, request_id: request.id });
    }
    if (error instanceof BadBody || !FRAMEWORK_ERRORS.has(status)) return reply.code(400).send({ code: 'BAD_REQUEST', message: error.message });
    const code = codeForStatus(status);
    return reply.code(status).send({ code, message: ERRORS[code].message });
  });

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
  // Streams and long polls wait for news: closing the server ends them with what they have, so a graceful shutdown
  // need not wait for them.
  const closing = new AbortController();
  setMaxListeners(0, closing.signal);
  app.addHook('preClose', (done) => {
    closing.abort(new Error('server closing'));
    done();
  });
  // A waiting request's own view of `closing`, whose listener leaves with the request (a signal combined with the
  // long-lived one by AbortSignal.any would stay referenced from it).
  const closingFor = (reply: FastifyReply): AbortSignal => {
    const controller = new AbortController();
    const abort = () => controller.abort(closing.signal.reason);
    if (closing.signal.aborted) abort();
    else {
      closing.signal.addEventListener('abort', abort, { once: true });
      reply.raw.once('close', () => closing.signal.removeEventListener('abort', abort));
    }
    return controller.signal;
  };
  /**
   * The one way a request gets its router context. Its signal aborts at the request's deadline or when the client
   * goes away, so no database call outlives the request: a hung database is a 503 on time, an abandoned query is cancelled.
   */
  const contextFor = (request: FastifyRequest, reply: FastifyReply, holdsMs = 0) => {
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
  if (apiKeys.length) app.addHook('preHandler', writeProtection(apiKeys));
  else app.log.warn('API_KEYS is not set: anyone who can reach this server can change the catalog');
  app.addHook('preHandler', rejectRepeatedHeaders);
  app.addHook('preHandler', rejectImpreciseNumbers);

  // Routes load after the plugins above, so rate limiting and headers apply to every one of them.
  void app.register((api, _options, done) => {
    // The router's health procedure, answered with 503 (and the same body) when the database is down.
    api.get('/health', async (request, reply) => {
      const health = await createCaller(contextFor(request, reply)).health({});
      return reply.code(health.status === 'ok' ? 200 : 503).send(health);
    });

    // tRPC on a route of our own rather than its plugin, so its bodies go through the parsers above (the
    // plugin would stream multipart/form-data to tRPC unbounded) and a batch has a maximum size.
    api.route<{ Params: { path: string } }>({
      method: ['GET', 'POST'],
      url: '/trpc/:path',
      onRequest: async (request, reply) => {
        const calls = trpcCalls(request);
        if (calls > maxBatchSize) {
          return reply.code(400).send({ code: 'BAD_REQUEST', message: `A tRPC batch holds at most ${maxBatchSize} calls; this one has ${calls}` });
        }
      },
      handler: (request, reply) =>
        fastifyRequestHandler({
          router: appRouter,
          createContext: () => contextFor(request, reply, trpcHolds(request.params.path)),
          req: request,
          res: reply,
          path: request.params.path,
          // A busy 503 says when to retry, in a batch too (each call's error is its own).
          responseMeta: ({ errors }) => ({ headers: Object.assign({}, ...errors.map(errorHeaders)) as Record<string, string> }),
        }),
    });

    api.route({
      method: ['PUT', 'PATCH', 'DELETE', ...UNSERVED_METHODS],
      url: '/trpc/:path',
      onRequest: async (_request, reply) =>
        reply.code(405).header('allow', 'GET, POST, HEAD').send({ code: 'METHOD_NOT_SUPPORTED', message: 'tRPC is served over GET (queries) and POST (mutations)' }),
      handler: (_request, reply) => reply,
    });

    const document = openApiDocument({ writeProtected: apiKeys.length > 0, rateLimited: rateLimit.max > 0 });
    api.get('/openapi.json', (_request, reply) => reply.send(document));
    registerSwaggerUi(api);
    registerRest(api, contextFor);
    registerEventStream(api, contextFor, { heartbeatMs: events.heartbeatMs });
    done();
  });
  return app;
}
