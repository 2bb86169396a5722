/**
 * Requests that never reach a route: Node's HTTP parser errors, Fastify's bad-URL errors and query strings that do
 * not decode, answered in the contract's `{code, message}` shape with X-Request-Id, and URLs with raw UTF-8 served
 * as if encoded.
 */
import { randomUUID } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { STATUS_CODES, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';

const REQUEST_ID = /\r\nx-request-id:[ \t]*([A-Za-z0-9._:-]{1,128})[ \t]*\r\n/i;

interface ParserError extends Error {
  code?: string;
  /** The bytes the parser was working on when it failed (a Buffer: Node sets it on clientError). */
  rawPacket?: unknown;
}

/** What the parser's error means, in the contract's words. */
function describe(code: string | undefined): { status: number; code: string; message: string } {
  switch (code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, code: 'TIMEOUT', message: 'The request did not arrive in time' };
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, code: 'REQUEST_HEADER_FIELDS_TOO_LARGE', message: 'The request headers exceed 16 KiB' };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, code: 'PAYLOAD_TOO_LARGE', message: 'The chunk extensions are too large' };
    case 'HPE_INVALID_URL':
      return { status: 400, code: 'BAD_REQUEST', message: 'The URL is not valid; percent-encode it' };
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
    case 'HPE_INVALID_TRANSFER_ENCODING':
      return { status: 400, code: 'BAD_REQUEST', message: 'Transfer-Encoding must end in chunked and never come with Content-Length' };
    default:
      return { status: 400, code: 'BAD_REQUEST', message: 'The request is not valid HTTP/1.1' };
  }
}

/**
 * A request head whose target holds raw bytes ≥ 0x80 (curl sends `?q=ноутбук` as typed), with those bytes
 * percent-encoded and `Connection: close` added; undefined when it cannot be repaired safely (the head is
 * incomplete in this packet, the target is not UTF-8, or the request has a body).
 */
function percentEncodeTarget(packet: Buffer | undefined): Buffer | undefined {
  if (!packet) return undefined;
  const headEnd = packet.indexOf('\r\n\r\n');
  const lineEnd = packet.indexOf('\r\n');
  if (headEnd < 0) return undefined;
  const line = packet.subarray(0, lineEnd);
  const targetStart = line.indexOf(0x20) + 1;
  const targetEnd = line.lastIndexOf(0x20);
  if (targetStart <= 0 || targetEnd <= targetStart) return undefined;
  const target = line.subarray(targetStart, targetEnd);
  if (!target.some((byte) => byte >= 0x80) || !isUtf8(target)) return undefined;
  const headers = packet.subarray(lineEnd, headEnd + 4);
  if (/\r\n(content-length|transfer-encoding)[ \t]*:/i.test(headers.toString('latin1'))) return undefined;
  const encoded = [...target].map((byte) => (byte >= 0x80 ? `%${byte.toString(16).toUpperCase()}` : String.fromCharCode(byte))).join('');
  return Buffer.concat([line.subarray(0, targetStart), Buffer.from(encoded, 'latin1'), line.subarray(targetEnd), Buffer.from('\r\nConnection: close'), headers]);
}

/**
 * Serves a repaired head on the same socket through a fresh, strict parser: a new connection of the
 * server whose bytes are the repaired head and whose answers go to the socket. The old parser (which
 * failed) is left behind; the `Connection: close` added to the head ends the exchange after one answer.
 */
function replay(server: Server, socket: Socket, head: Buffer): void {
  const connection = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      socket.write(chunk, callback);
    },
    final(callback) {
      socket.end();
      callback();
    },
  });
  // What the application reads from its socket: the client's address (the rate limit's key).
  Object.defineProperties(connection, {
    remoteAddress: { value: socket.remoteAddress },
    remotePort: { value: socket.remotePort },
    remoteFamily: { value: socket.remoteFamily },
  });
  socket.once('close', () => connection.destroy());
  server.emit('connection', connection);
  connection.push(head);
}

/**
 * Node's HTTP parser is strict, and stays so: `insecureHTTPParser` would also accept raw bytes in URLs,
 * but with them invalid header characters, and Content-Length beside Transfer-Encoding, which is how
 * requests are smuggled past proxies. Instead, when the strict parser rejects a URL only for its raw
 * non-ASCII bytes, those bytes (and nothing else) are percent-encoded, as a browser would have sent them,
 * and the head is parsed again by a new strict parser. Every other parser error is answered here.
 */
export function clientErrorHandler(server: () => Server, log: () => FastifyBaseLogger): (error: ParserError, socket: Socket) => void {
  const answered = new WeakSet<Socket>();
  return (error, socket) => {
    // A parser that failed fails again on every later packet: one answer per connection.
    if (answered.has(socket)) return;
    answered.add(socket);
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const packet = Buffer.isBuffer(error.rawPacket) ? error.rawPacket : undefined;
    const repaired = error.code === 'HPE_INVALID_URL' ? percentEncodeTarget(packet) : undefined;
    if (repaired) return replay(server(), socket, repaired);

    const { status, code, message } = describe(error.code);
    const requestId = REQUEST_ID.exec(packet?.toString('latin1') ?? '')?.[1] ?? randomUUID();
    log().info({ reqId: requestId, parserError: error.code, status }, `refused before routing: ${message}`);
    const body = JSON.stringify({ code, message });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
    );
  };
}

const badUrl = (request: FastifyRequest, reply: FastifyReply) =>
  reply.code(400).header('x-request-id', request.id).send({ code: 'BAD_REQUEST', message: 'The URL is not valid percent-encoded UTF-8' });

/** Fastify's own errors before routing (a URL that does not percent-decode), in the contract shape. */
export function frameworkErrors(_error: Error, request: FastifyRequest, reply: FastifyReply): void {
  void badUrl(request, reply);
}

/**
 * The query string's twin of `frameworkErrors`: Fastify's parser keeps an escape that does not decode (`?q=%FF`,
 * `%ZZ`, `%C3%28`) as its raw text, so it is refused here, first, with the same 400 as those bytes in the path.
 */
export async function rejectUndecodableQuery(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
  const start = request.url.indexOf('?');
  if (start < 0 || !request.url.includes('%', start)) return undefined;
  try {
    decodeURIComponent(request.url.slice(start + 1));
    return undefined;
  } catch {
    return badUrl(request, reply);
  }
}
