/**
 * Read your writes over HTTP (contract v1.3): `X-Catalog-Min-Position` opens the request's position context (a
 * malformed one is a 422 at `[]`, at /trpc too), and every response but an event stream carries
 * `X-Catalog-Position`, the token of what the request saw.
 */
import { toErrorBody, ValidationError } from '@tradeos/api';
import { parsePosition, withPositions, type Database, type PositionContext } from '@tradeos/db';
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';

const contexts = new WeakMap<FastifyRequest, PositionContext>();

/**
 * A preHandler (after write protection and the repeated-header check), so the context holds for the handler and
 * everything it awaits; onSend then reads the context object this request opened, not the async storage.
 */
export function registerPositions(app: FastifyInstance, db: Database): void {
  app.addHook('preHandler', (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    const sent = request.headers['x-catalog-min-position'];
    const min = typeof sent === 'string' ? parsePosition(sent) : undefined;
    if (typeof sent === 'string' && min === undefined) {
      const error = new ValidationError([{ path: [], message: 'X-Catalog-Min-Position must be a position token as X-Catalog-Position gives it (16 upper-case hex digits)' }]);
      // Answered here: a hook that responds does not call `done`.
      void reply.code(422).send(toErrorBody(error, request.id));
      return;
    }
    const context: PositionContext = { min, seen: 0n };
    contexts.set(request, context);
    withPositions(context, done);
  });
  app.addHook('onSend', (request, reply, payload, done) => {
    // An event stream is hijacked and never passes here; this guards any other text/event-stream answer.
    if (!String(reply.getHeader('content-type') ?? '').startsWith('text/event-stream')) {
      void reply.header('x-catalog-position', db.position(contexts.get(request)));
    }
    done(null, payload);
  });
}
