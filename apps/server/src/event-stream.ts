/**
 * `GET /events/stream`: the change feed as Server-Sent Events. Each event is one message (`id:` its id, `data:` the
 * event); a reconnecting EventSource sends `Last-Event-ID` and resumes after it; comment lines keep proxies from
 * closing an idle stream. Errors before the stream opens (422, 410) are the contract's JSON.
 */
import { errorHeaders, statusOf, toErrorBody, toTRPCError, ValidationError, type Context } from '@tradeos/api';
import { EventId, EventStreamQuery, parseEventTypes } from '@tradeos/contract';
import { TRPCError } from '@trpc/server';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export interface EventStreamOptions {
  /** How often a comment line is sent while no event is (default 15 s). */
  heartbeatMs?: number;
}

/**
 * The stream's query, `Last-Event-ID` taking the place of `after`: the client's own resume point wins over the URL
 * it reconnects to. A bad one is a 422 at `[]` (it is no field of the query), never a stream from somewhere else.
 */
function streamInput(request: FastifyRequest) {
  const parsed = EventStreamQuery.safeParse(request.query);
  if (!parsed.success) throw new TRPCError({ code: 'BAD_REQUEST', cause: parsed.error });
  const header = request.headers['last-event-id'];
  const lastEventId = header === undefined ? undefined : EventId.safeParse(header);
  if (lastEventId && !lastEventId.success) {
    throw new ValidationError([{ path: [], message: 'Last-Event-ID must be an event id (a decimal integer), as the stream sent it' }]);
  }
  return { after: lastEventId?.data ?? parsed.data.after, types: parseEventTypes(parsed.data.types) };
}

export function registerEventStream(
  app: FastifyInstance,
  contextFor: (request: FastifyRequest, reply: FastifyReply, holdsMs?: number) => Context,
  { heartbeatMs = 15_000 }: EventStreamOptions = {},
): void {
  app.get('/events/stream', async (request, reply) => {
    // No deadline: the stream ends when its client leaves or the server closes.
    const { store, signal, closing } = contextFor(request, reply, Infinity);
    let query: ReturnType<typeof streamInput>;
    try {
      query = streamInput(request);
      // A pruned cursor is a 410 now, while the answer can still be JSON.
      await store.events.page({ ...query, limit: 1 });
    } catch (error) {
      const mapped = toTRPCError(error);
      return reply.code(statusOf(mapped)).headers(errorHeaders(mapped)).send(toErrorBody(mapped, request.id));
    }

    const headers = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform' };
    // HEAD answers the stream's headers and ends; only GET opens it.
    if (request.method === 'HEAD') return reply.code(200).headers(headers).send();

    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      ...headers,
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), heartbeatMs);
    // A message waits until the socket took the one before: a slow reader holds one page, not the whole feed.
    // Whichever of drain and close comes first removes both listeners, so a long stream does not pile them up.
    // A socket already closed takes nothing and will neither drain nor close again: no waiting on it.
    const send = async (text: string) => {
      if (raw.destroyed || raw.write(text)) return;
      await new Promise<void>((resolve) => {
        const resume = () => {
          raw.off('drain', resume).off('close', resume);
          resolve();
        };
        raw.on('drain', resume).on('close', resume);
      });
    };
    const ends = AbortSignal.any([signal!, closing!]);
    try {
      await send('retry: 1000\n\n');
      for await (const event of store.events.follow(query, ends)) {
        if (ends.aborted) break;
        await send(`id: ${event.id}\ndata: ${JSON.stringify(event)}\n\n`);
      }
    } catch (error) {
      // The database went away or the cursor was pruned meanwhile: end the stream, the client resumes from its last id.
      // (A read cut short by the client leaving or the server closing is no failure.)
      if (!ends.aborted) request.log.warn({ err: error }, 'event stream ended');
    } finally {
      // The client left, or the server is closing.
      if (ends.aborted) request.log.info('event stream closed');
      clearInterval(heartbeat);
      raw.end();
    }
  });
}
