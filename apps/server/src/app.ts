/**
 * The Fastify application, built around a database handle it is given, step by step: the server (limits, request
 * ids, the request log), the hooks every request meets, the JSON-only bodies, the contract's JSON errors, then the
 * request context (context.ts) and the routes (routes.ts). main.ts owns listening and shutdown; tests build it on a
 * database of their own.
 */
import { randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { codeForStatus, ERRORS } from '@tradeos/contract';
import type { Database } from '@tradeos/db';
import cors from '@fastify/cors';
import helmet from 'helmet';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { writeProtection } from './auth.js';
import { clientErrorHandler, frameworkErrors, rejectUndecodableQuery } from './client-errors.js';
import { BadBody, registerJsonBody, rejectImpreciseNumbers } from './body.js';
import { registerContext } from './context.js';
import { registerDrain } from './drain.js';
import { rejectRepeatedHeaders } from './headers.js';
import { lingerOnEarlyClose, refuseOversizedContinue } from './lingering-close.js';
import type { GatherMetrics } from './cluster-metrics.js';
import { registerMetrics } from './metrics.js';
import { acceptEveryMethod } from './methods.js';
import { registerPositions } from './positions.js';
import { MemoryStore, registerRateLimit, type RateLimitStore } from './rate-limit.js';
import { registerRoutes } from './routes.js';
import { trpcCalls } from './trpc.js';

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
  /** How `/metrics` gathers its families: this process's (default), or with WORKERS every worker's through the primary. */
  metrics?: GatherMetrics;
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

/** The steps in order: hooks of one kind run in the order they are added, and routes come last so every hook applies to them. */
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
  metrics,
}: AppOptions): FastifyInstance {
  const app = createFastify({ logger, requestLogSample, requestTimeoutMs });
  // First of all hooks, so the drain knows every request from its first hook on.
  registerDrain(app, listenerClosed);
  registerFrontDoor(app, { corsOrigins, rateLimit });
  registerBodyParsers(app);
  app.setErrorHandler(sendError);
  const { contextFor, feed } = registerContext(app, { db, apiKeys, requestTimeoutMs, events });
  registerRequestChecks(app, apiKeys);
  const { route: metricsRoute } = registerMetrics(app, { db, feed, apiKeys, gather: metrics });
  registerPositions(app, db);
  registerRoutes(app, contextFor, {
    metricsRoute,
    maxBatchSize,
    writeProtected: apiKeys.length > 0,
    rateLimited: rateLimit.max > 0,
    heartbeatMs: events.heartbeatMs,
  });
  return app;
}

/** The Fastify instance and the HTTP server under it: limits, timeouts, request ids, the request log. */
function createFastify({ logger, requestLogSample, requestTimeoutMs }: {
  logger: FastifyServerOptions['logger'];
  requestLogSample: number;
  requestTimeoutMs: number;
}): FastifyInstance {
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
  return app;
}

function notFound(request: FastifyRequest, reply: FastifyReply) {
  return reply.code(404).send({ code: 'NOT_FOUND', message: `Route ${request.method} ${request.url.split('?')[0]} not found` });
}

/** What every request meets before its body is read, in this order: a decodable query, CORS, the rate limit, headers, 404. */
function registerFrontDoor(app: FastifyInstance, { corsOrigins, rateLimit }: { corsOrigins: string[]; rateLimit: NonNullable<AppOptions['rateLimit']> }): void {
  acceptEveryMethod(app);
  // A query string that does not decode is a 400 before anything else (rate limit, 404, 405), as a bad path is.
  app.addHook('onRequest', rejectUndecodableQuery);
  if (corsOrigins.length) registerCors(app, corsOrigins);
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
}

function registerCors(app: FastifyInstance, corsOrigins: string[]): void {
  const anyOrigin = corsOrigins.includes('*');
  void app.register(cors, {
    // An origin not configured gets no CORS at all, so its OPTIONS falls through to the path's 405.
    origin: (origin, callback) => callback(null, anyOrigin ? '*' : origin !== undefined && corsOrigins.includes(origin) ? origin : false),
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['content-type', 'authorization', 'x-request-id', 'idempotency-key', 'if-match', 'if-none-match', 'x-catalog-min-position'],
    exposedHeaders: ['x-request-id', 'location', 'retry-after', 'etag', 'idempotent-replayed', 'x-catalog-position'],
  });
}

/**
 * JSON only, checked before it is parsed. Any other media type (text/plain and multipart/form-data
 * included, at /trpc too): read at most the limit (so an oversized one is a 413), then refuse it with 415.
 */
function registerBodyParsers(app: FastifyInstance): void {
  registerJsonBody(app);
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, _body, done) => {
    done(httpError(415, ERRORS.UNSUPPORTED_MEDIA_TYPE.message), undefined);
  });
}

/** Every error a route or hook throws, as the contract's JSON: a logged generic 500, Fastify's 400/413/415, else a 400. */
async function sendError(error: { statusCode?: number; message: string }, request: FastifyRequest, reply: FastifyReply) {
  const status = error.statusCode ?? 500;
  if (status >= 500) {
    request.log.error({ err: error }, 'unhandled error');
    return reply.code(500).send({ code: 'INTERNAL_SERVER_ERROR', message: ERRORS.INTERNAL_SERVER_ERROR.message, request_id: request.id });
  }
  if (error instanceof BadBody || !FRAMEWORK_ERRORS.has(status)) return reply.code(400).send({ code: 'BAD_REQUEST', message: error.message });
  const code = codeForStatus(status);
  return reply.code(status).send({ code, message: ERRORS[code].message });
}

/** Checks on a parsed request before its handler runs: write protection, then headers and numbers read as one value. */
function registerRequestChecks(app: FastifyInstance, apiKeys: string[]): void {
  if (apiKeys.length) app.addHook('preHandler', writeProtection(apiKeys));
  else app.log.warn('API_KEYS is not set: anyone who can reach this server can change the catalog');
  app.addHook('preHandler', rejectRepeatedHeaders);
  app.addHook('preHandler', rejectImpreciseNumbers);
}
