/**
 * Closing under keep-alive load: stop accepting, read the requests clients already sent, close the idle connections,
 * and answer every request received with `Connection: close`; at the shutdown deadline, what still runs is a 503 busy.
 */
import { once } from 'node:events';
import type { Cluster, Worker } from 'node:cluster';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Server as NetServer } from 'node:net';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance, FastifyReply } from 'fastify';

export interface Drain {
  /**
   * Answers every request not answered yet with 503 busy (`Retry-After`, `Connection: close`) and ends any stream
   * still open; resolves once those answers are out and their connections closed (an upload's lingering close
   * included), or after a few seconds at most. The work behind them is the caller's to cancel.
   */
  answerBusy(): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    drain: Drain;
  }
}

const BUSY = JSON.stringify({ code: 'SERVICE_UNAVAILABLE', message: 'The service is busy: this server is shutting down; try again shortly' });
/** What a 503 busy tells the client: retry in a second (another instance, or this one restarted). */
const RETRY_AFTER_SECONDS = '1';
/** Longest wait for the deadline's answers to leave: more than an upload's lingering close takes (lingering-close.ts). */
const ANSWERS_LEAVE_MS = 3_000;

const closed = (response: ServerResponse): Promise<unknown> => {
  const socket = response.req.socket;
  return socket.destroyed ? Promise.resolve() : once(socket, 'close');
};

/**
 * Registers the drain on `app` (as `app.drain`): call it before any other hook, so every request is tracked from
 * its first hook on. `app.close()` then stops accepting, waits for `listenerClosed` (no process accepts on the port
 * any longer), marks every answer from then on `Connection: close`, lets a whole turn of the event loop read what was
 * sent before, and only then lets Fastify close the idle connections.
 */
export function registerDrain(app: FastifyInstance, listenerClosed?: () => Promise<void>): void {
  const inFlight = new Set<FastifyReply>();
  let draining = false;
  let idleClosing = false;

  // A connection whose answer went out before the drain began (a stream's headers, with keep-alive) is idle once
  // that answer ends: close it then, or the server would wait for it until the keep-alive timeout.
  const closeIdleSoon = () => {
    if (idleClosing) setImmediate(() => app.server.closeIdleConnections());
  };
  const drainReply = (reply: FastifyReply) => {
    if (!reply.raw.headersSent) reply.raw.setHeader('connection', 'close');
    reply.raw.once('finish', closeIdleSoon);
  };

  app.addHook('onRequest', (_request, reply, done) => {
    inFlight.add(reply);
    reply.raw.once('close', () => inFlight.delete(reply));
    if (draining) drainReply(reply);
    done();
  });

  app.addHook('preClose', async () => {
    // http.Server#close would close the idle connections at once, before the requests already sent on them are read.
    NetServer.prototype.close.call(app.server);
    await listenerClosed?.();
    // Only now does every answer close its connection: before, the client's next connection could land on the port
    // while it still accepts, and be reset when the last worker closes it with that connection still queued.
    draining = true;
    for (const reply of inFlight) drainReply(reply);
    // The first immediate may run in a turn that polled before the port closed; after the second, every request sent
    // before it closed was read and is in flight, so closing the idle connections resets none of them.
    await nextTurn();
    await nextTurn();
    idleClosing = true;
  });

  const answerBusy = async () => {
    const left = [...inFlight].filter((reply) => !reply.raw.writableEnded);
    for (const reply of left) {
      const response = reply.raw;
      // A stream's headers are out: it ends where it stands.
      if (response.headersSent) {
        response.end();
        continue;
      }
      reply.log.warn('answered 503 busy: the shutdown deadline passed');
      response.writeHead(503, {
        ...(reply.getHeaders() as OutgoingHttpHeaders),
        'x-request-id': reply.request.id,
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(BUSY),
        'retry-after': RETRY_AFTER_SECONDS,
        connection: 'close',
      });
      response.end(BUSY);
    }
    await Promise.race([Promise.all(left.map((reply) => closed(reply.raw))), sleep(ANSWERS_LEAVE_MS)]);
  };
  app.decorate('drain', { answerBusy });
}

interface DrainMessage {
  kind?: 'drain:stopped-accepting' | 'drain:port-closed';
}

/**
 * In a cluster worker, as `listenerClosed`: tells the primary this worker stopped accepting, and resolves once the
 * primary says every worker has, so the shared port is closed. Until then another worker still accepts, and a request
 * a client sends on an idle connection here may have left before the port closed.
 */
export function portClosedByPrimary(): Promise<void> {
  return new Promise((resolve) => {
    const onMessage = (message: DrainMessage) => {
      if (message.kind !== 'drain:port-closed') return;
      process.off('message', onMessage);
      resolve();
    };
    process.on('message', onMessage);
    process.send?.({ kind: 'drain:stopped-accepting' } satisfies DrainMessage);
  });
}

/** In the cluster primary: once every live worker stopped accepting (Node closes the shared port then), tells them all. */
export function announcePortClosed(cluster: Cluster): void {
  const stopped = new Set<number>();
  const announce = () => {
    const live = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined && !worker.isDead());
    if (!stopped.size || !live.every((worker) => stopped.has(worker.id))) return;
    for (const worker of live) if (worker.isConnected()) worker.send({ kind: 'drain:port-closed' } satisfies DrainMessage);
  };
  cluster.on('message', (worker, message: DrainMessage) => {
    if (message.kind !== 'drain:stopped-accepting') return;
    stopped.add(worker.id);
    announce();
  });
  // A worker that dies while draining is not waited for.
  cluster.on('exit', announce);
}
