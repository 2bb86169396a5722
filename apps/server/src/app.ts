/**
 * The Fastify application, built around a database handle it is given: request ids, the contract's JSON
 * errors, the health check, tRPC at /trpc and the same router as REST at the root paths.
 * main.ts owns listening and shutdown; tests build it on a database of their own.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { appRouter, createCaller, createContext } from '@tradeos/api';
import { codeForStatus, ERRORS } from '@tradeos/contract';
import { createCatalogStore, type Database } from '@tradeos/db';
import { fastifyTRPCPlugin, type FastifyTRPCPluginOptions } from '@trpc/server/adapters/fastify';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import rateLimitPlugin from '@fastify/rate-limit';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { writeProtection } from './auth.js';
import { openApiDocument } from './openapi.js';
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
  /** Requests per client IP per window; 0 turns the limit off. /health is never limited. */
  rateLimit?: { max: number; windowMs: number };
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const BODY_LIMIT = 1024 * 1024;

function httpError(statusCode: number, message: string): Error & { statusCode: number } {
  return Object.assign(new Error(message), { statusCode });
}

// Errors Fastify raises before a handler runs, in the contract's words.
const FRAMEWORK_ERRORS = new Set([400, 413, 415, 429]);

export function buildApp({
  db,
  logger = false,
  apiKeys = [],
  requestTimeoutMs = 15_000,
  corsOrigins = [],
  rateLimit = { max: 0, windowMs: 60_000 },
}: AppOptions): FastifyInstance {
  const app = Fastify({
    logger,
    bodyLimit: BODY_LIMIT,
    // Node checks request deadlines every 30 s by default: check every second, so a slow client is cut off on time.
    serverFactory: (handler) =>
      createServer({ requestTimeout: requestTimeoutMs, headersTimeout: Math.min(requestTimeoutMs, 10_000), connectionsCheckingInterval: 1_000 }, handler),
    // A long path segment is a bad id or name (422 from validation), never Fastify's bare 414.
    routerOptions: { maxParamLength: 16_384 },
    requestIdHeader: false,
    genReqId: (request) => {
      const incoming = request.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
  });

  const notFound = (request: FastifyRequest, reply: FastifyReply) =>
    reply.code(404).send({ code: 'NOT_FOUND', message: `Route ${request.method} ${request.url.split('?')[0]} not found` });

  // Security headers on every response; the CSP still lets the same-origin Swagger UI run.
  void app.register(helmet, {
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
  });
  if (corsOrigins.length) {
    void app.register(cors, {
      origin: corsOrigins.includes('*') ? '*' : corsOrigins,
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['content-type', 'authorization', 'x-request-id'],
      exposedHeaders: ['x-request-id', 'location', 'retry-after'],
    });
  }
  if (rateLimit.max > 0) {
    void app.register(rateLimitPlugin, {
      max: rateLimit.max,
      timeWindow: rateLimit.windowMs,
      allowList: (request) => request.url === '/health',
      errorResponseBuilder: () => ({ statusCode: 429, code: 'TOO_MANY_REQUESTS', message: ERRORS.TOO_MANY_REQUESTS.message }),
    });
  }

  app.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  // An unknown route is a 404 before anything else: its body is never read, so no 400/413/415 can win.
  app.addHook('preParsing', async (request, reply) => {
    if (request.is404) return notFound(request, reply);
  });
  app.setNotFoundHandler(notFound);

  // JSON only. Any other media type (text/plain included): read the body first (so an oversized one is a 413), then refuse it with 415.
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
    if (!FRAMEWORK_ERRORS.has(status)) return reply.code(400).send({ code: 'BAD_REQUEST', message: error.message });
    const code = codeForStatus(status);
    return reply.code(status).send({ code, message: ERRORS[code].message });
  });

  const store = createCatalogStore(db);
  /**
   * The one way a request gets its router context. Its signal aborts at the request's deadline or when the client
   * goes away, so no database call outlives the request: a hung database is a 503 on time, an abandoned query is cancelled.
   */
  const contextFor = (request: FastifyRequest, reply: FastifyReply) => {
    const controller = new AbortController();
    const deadline = setTimeout(() => controller.abort(new Error('request deadline passed')), requestTimeoutMs).unref();
    reply.raw.once('close', () => {
      clearTimeout(deadline);
      controller.abort(new Error('response closed'));
    });
    return createContext({ store, requestId: request.id, log: request.log, signal: controller.signal });
  };
  // Why the database is down, once per change of state (the cause carries no password).
  const unwatch = db.watch((availability) => {
    if (availability.available) app.log.info('database available');
    else app.log.error({ cause: availability.cause }, 'database unavailable');
  });
  app.addHook('onClose', (_instance, done) => {
    unwatch();
    done();
  });
  if (apiKeys.length) app.addHook('preHandler', writeProtection(apiKeys));
  else app.log.warn('API_KEYS is not set: anyone who can reach this server can change the catalog');

  // Routes load after the plugins above, so rate limiting and headers apply to every one of them.
  void app.register(async (api) => {
    // The router's health procedure, answered with 503 (and the same body) when the database is down.
    api.get('/health', async (request, reply) => {
      const health = await createCaller(contextFor(request, reply)).health({});
      return reply.code(health.status === 'ok' ? 200 : 503).send(health);
    });

    await api.register(fastifyTRPCPlugin, {
      prefix: '/trpc',
      trpcOptions: {
        router: appRouter,
        createContext: ({ req, res }) => contextFor(req, res),
      } satisfies FastifyTRPCPluginOptions<typeof appRouter>['trpcOptions'],
    });

    const document = openApiDocument({ writeProtected: apiKeys.length > 0, rateLimited: rateLimit.max > 0 });
    api.get('/openapi.json', (_request, reply) => reply.send(document));
    registerSwaggerUi(api);
    registerRest(api, contextFor);
  });
  return app;
}
