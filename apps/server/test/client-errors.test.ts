/**
 * What Node's HTTP parser and Fastify's router refuse before any route (issue 11 item 8): raw UTF-8 in a
 * URL is served as percent-encoded UTF-8; every other refusal is the contract's shape with X-Request-Id.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { call, startServer, type LiveServer } from './helpers.js';

let server: LiveServer;

beforeAll(async () => {
  server = await startServer();
  await call(server.base, 'POST', '/categories', { name: 'Электроника' });
  await call(server.base, 'POST', '/products', { name: 'Ноутбук Lenovo', price: 1 });
});
afterAll(() => server.close());

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** Sends bytes as they are (curl does not encode what is typed) and reads one answer. */
function raw(bytes: string | Buffer, base = server.base): Promise<RawAnswer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
      let body: unknown = rest.join('\r\n\r\n');
      try {
        body = JSON.parse(body as string);
      } catch {
        // not JSON: kept as text, which the assertions will show
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body });
    });
    // Written, not ended, as curl does: the server closes after its answer (Connection: close).
    socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes);
  });
}

describe('raw UTF-8 in the URL is served as percent-encoded UTF-8', () => {
  it('answers the README tour command ?q=ноутбук like its encoded form', async () => {
    const answer = await raw('GET /products/search?q=ноутбук&limit=3 HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
    expect(answer.status).toBe(200);
    expect(answer.headers['x-request-id']).toBeTruthy();
    expect((answer.body as { items: { name: string }[] }).items.map((item) => item.name)).toEqual(['Ноутбук Lenovo']);
    expect(answer.headers.connection).toBe('close');
  });

  it('serves raw UTF-8 in the path, and keeps the client request id', async () => {
    const answer = await raw('GET /products/category/электроника HTTP/1.1\r\nHost: x\r\nX-Request-Id: tour-1\r\n\r\n');
    expect(answer.status).toBe(200);
    expect(answer.headers['x-request-id']).toBe('tour-1');
  });

  it('answers a raw URL that is not UTF-8 with 400 in the contract shape', async () => {
    const answer = await raw(Buffer.concat([Buffer.from('GET /products/search?q='), Buffer.from([0xff, 0xfe]), Buffer.from(' HTTP/1.1\r\nHost: x\r\n\r\n')]));
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ code: 'BAD_REQUEST', message: 'The URL is not valid; percent-encode it' });
    expect(answer.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers a percent-encoding that does not decode with 400 in the contract shape', async () => {
    const response = await call(server.base, 'GET', '/products/category/%E0%A4%A');
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ code: 'BAD_REQUEST', message: 'The URL is not valid percent-encoded UTF-8' });
    expect(response.headers.get('x-request-id')).toBeTruthy();
  });
});

describe("the parser's own refusals use the contract shape with X-Request-Id", () => {
  it('answers Content-Length beside Transfer-Encoding with 400', async () => {
    const answer = await raw('POST /products HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ code: 'BAD_REQUEST', message: 'Transfer-Encoding must end in chunked and never come with Content-Length' });
    expect(answer.headers['x-request-id']).toBeTruthy();
  });

  it('answers headers over 16 KiB with 431', async () => {
    const answer = await raw(`GET /products HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(answer.status).toBe(431);
    expect(answer.body).toEqual({ code: 'REQUEST_HEADER_FIELDS_TOO_LARGE', message: 'The request headers exceed 16 KiB' });
    expect(answer.headers['x-request-id']).toBeTruthy();
  });

  it('answers garbage with 400', async () => {
    const answer = await raw('HELLO\r\n\r\n');
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ code: 'BAD_REQUEST', message: 'The request is not valid HTTP/1.1' });
  });

  it('answers a head that never finishes with 408', async () => {
    const app = buildApp({ db: server.db, requestTimeoutMs: 300 });
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const { port } = app.server.address() as { port: number };
      const answer = await new Promise<RawAnswer>((resolve) => {
        const socket = connect(port, '127.0.0.1');
        let text = '';
        socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
        socket.on('close', () => {
          const [head = '', body = ''] = text.split('\r\n\r\n');
          resolve({ status: Number(head.split(' ')[1]), headers: { id: /x-request-id: (\S+)/i.exec(head)?.[1] ?? '' }, body: JSON.parse(body) as unknown });
        });
        socket.write('GET /products HTTP/1.1\r\nHost: x\r\n');
      });
      expect(answer.status).toBe(408);
      expect(answer.body).toEqual({ code: 'TIMEOUT', message: 'The request did not arrive in time' });
      expect(answer.headers.id).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await app.close();
    }
  });
});
