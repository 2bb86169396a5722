/**
 * Every route the server answers, in one plugin registered after the hooks and plugins of app.ts: the health check,
 * tRPC at /trpc, the OpenAPI document and Swagger UI, REST at the root paths, the event stream, and the metrics.
 */
import { createCaller } from '@tradeos/api';
import type { FastifyInstance } from 'fastify';
import type { ContextFor } from './context.js';
import { registerEventStream } from './event-stream.js';
import { openApiDocument } from './openapi.js';
import { registerRest } from './rest.js';
import { registerSwaggerUi } from './swagger-ui.js';
import { registerTrpc } from './trpc.js';

export interface RouteOptions {
  /** Registers `GET /metrics` (metrics.ts). */
  metricsRoute: (api: FastifyInstance) => void;
  maxBatchSize: number;
  /** What the OpenAPI document says the deployment asks of its callers. */
  writeProtected: boolean;
  rateLimited: boolean;
  heartbeatMs?: number;
}

export function registerRoutes(app: FastifyInstance, contextFor: ContextFor, options: RouteOptions): void {
  // Routes load after the plugins registered before this, so rate limiting and headers apply to every one of them.
  void app.register((api, _options, done) => {
    registerHealth(api, contextFor);
    registerTrpc(api, contextFor, options.maxBatchSize);
    registerDocs(api, options);
    registerRest(api, contextFor);
    registerEventStream(api, contextFor, { heartbeatMs: options.heartbeatMs });
    options.metricsRoute(api);
    done();
  });
}

/** The router's health procedure, answered with 503 (and the same body) when the database is down. */
function registerHealth(api: FastifyInstance, contextFor: ContextFor): void {
  api.get('/health', async (request, reply) => {
    const health = await createCaller(contextFor(request, reply)).health({});
    return reply.code(health.status === 'ok' ? 200 : 503).send(health);
  });
}

/** The OpenAPI document, built once, and Swagger UI over it at /docs. */
function registerDocs(api: FastifyInstance, { writeProtected, rateLimited }: RouteOptions): void {
  const document = openApiDocument({ writeProtected, rateLimited });
  api.get('/openapi.json', (_request, reply) => reply.send(document));
  registerSwaggerUi(api);
}
