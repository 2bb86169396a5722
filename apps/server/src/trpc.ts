/**
 * tRPC at `/trpc/:path`, on a route of our own rather than its plugin: bodies go through the server's parsers, a
 * batch has a maximum size (and counts its calls toward the rate limit), a long poll holds its request, other methods are 405.
 */
import { appRouter, errorHeaders } from '@tradeos/api';
import { operations, type Operation } from '@tradeos/contract';
import { fastifyRequestHandler } from '@trpc/server/adapters/fastify';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ContextFor } from './context.js';
import { UNSERVED_METHODS } from './methods.js';

/** How much longer than the request timeout a tRPC call may hold its request (a long poll; a subscription: forever). */
export function trpcHolds(path: string): number {
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
export function trpcCalls(request: FastifyRequest): number {
  if (request.routeOptions.url !== '/trpc/:path' || !isTrpcBatch(request)) return 1;
  return (request.params as { path: string }).path.split(',').length;
}

export function registerTrpc(api: FastifyInstance, contextFor: ContextFor, maxBatchSize: number): void {
  // Not tRPC's plugin: it would stream multipart/form-data to tRPC unbounded, past the JSON-only parsers.
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
}
