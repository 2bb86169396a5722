/**
 * The Fastify application, built around a database handle it is given: request ids, JSON errors,
 * and the health check. main.ts owns listening and shutdown; tests build it on a database of their own.
 */
import { randomUUID } from 'node:crypto';
import type { Database } from '@tradeos/db';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';

export interface AppOptions {
  db: Database;
  logger?: FastifyServerOptions['logger'];
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function buildApp({ db, logger = false }: AppOptions): FastifyInstance {
  const app = Fastify({
    logger,
    bodyLimit: 1024 * 1024,
    requestIdHeader: false,
    genReqId: (request) => {
      const incoming = request.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
  });

  const notFound = (request: FastifyRequest, reply: FastifyReply) =>
    reply.code(404).send({ code: 'NOT_FOUND', message: `Route ${request.method} ${request.url.split('?')[0]} not found` });

  app.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
    // An unknown route is a 404 before anything else: its body is never read, so no 400/413/415 can win.
    if (request.is404) return notFound(request, reply);
  });

  app.get('/health', async (_request, reply) => {
    const up = await db.ping(2_000);
    return reply
      .code(up ? 200 : 503)
      .send(up ? { status: 'ok', database: 'connected' } : { status: 'error', database: 'disconnected' });
  });

  app.setNotFoundHandler(notFound);

  app.setErrorHandler(async (error: { statusCode?: number; message: string }, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 500) {
      request.log.error({ err: error }, 'unhandled error');
      return reply.code(500).send({ code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error', request_id: request.id });
    }
    return reply.code(status).send({ code: 'BAD_REQUEST', message: error.message });
  });

  return app;
}
