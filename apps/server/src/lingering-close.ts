/**
 * Early answers to uploads: a declared body over the limit is refused before `100 Continue`, and a
 * connection answered while its client is still uploading closes the way nginx's lingering close does.
 */
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface LingerOptions {
  /** Longest time spent reading and discarding what the client still sends after its answer. */
  maxMs: number;
  /** Most bytes read and discarded that way before the connection is cut. */
  maxBytes: number;
}

/**
 * Handles `Expect: 100-continue` itself: a request whose declared Content-Length already exceeds `bodyLimit`
 * goes to the application without `100 Continue`, so the client never starts the upload it is about to be
 * refused (the application answers 413 from the header alone). Every other one is invited as Node would.
 */
export function refuseOversizedContinue(server: Server, handler: RequestListener, bodyLimit: number): void {
  server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => {
    if (!(Number(request.headers['content-length']) > bodyLimit)) response.writeContinue();
    handler(request, response);
  });
}

/**
 * Node closes a connection whose answer says `Connection: close` as soon as the answer is written
 * (`socket.destroySoon()`). If the client is still uploading then, its next bytes meet a closed socket, the
 * kernel answers with a reset, and the reset can discard the answer before the client reads it. For a
 * request whose body has not fully arrived, this replaces that close with a lingering one: send the answer
 * and a FIN, keep reading (Node's parser goes on discarding the body) until the client closes its side, or
 * `maxMs` passes, or `maxBytes` more arrive, then close. A client that sends forever is still cut off.
 */
export function lingerOnEarlyClose(server: Server, options: LingerOptions): void {
  const inFlight = new WeakMap<Socket, IncomingMessage>();
  const track = (request: IncomingMessage) => inFlight.set(request.socket, request);
  // Registered first, so every request is tracked before the application sees it.
  server.prependListener('request', track);
  server.prependListener('checkContinue', track);

  server.on('connection', (socket: Socket) => {
    // A connection replayed from memory (see client-errors.ts) is not a TCP socket: nothing to linger on.
    if (typeof socket.destroySoon !== 'function') return;
    const close = socket.destroySoon.bind(socket);
    socket.destroySoon = () => {
      if (inFlight.get(socket)?.complete === false) linger(socket, options);
      else close();
    };
  });
}

function linger(socket: Socket, { maxMs, maxBytes }: LingerOptions): void {
  socket.end();
  const readBefore = socket.bytesRead;
  const cut = () => socket.destroy();
  const deadline = setTimeout(cut, maxMs);
  // The parser reads the socket directly, so there are no 'data' events to count: poll the byte counter.
  const meter = setInterval(() => {
    if (socket.bytesRead - readBefore > maxBytes) cut();
  }, 50);
  // The client closed its side: nothing is left to read.
  socket.once('end', cut);
  socket.once('close', () => {
    clearTimeout(deadline);
    clearInterval(meter);
  });
}
