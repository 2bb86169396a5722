/**
 * Request bodies at the edge (issue 11, items 1, 10, 11, 13): the 1 MiB limit on every route, tRPC's
 * multipart included, and the JSON that JSON.parse would accept silently or slowly.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startServer, type LiveServer } from './helpers.js';

let server: LiveServer;
const http = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => call(server.base, method, path, body, headers);
const json = { 'content-type': 'application/json' };

beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

/** Streams `megabytes` of a chunked body to `path`; resolves with the answer and how much the server took. */
function streamUpload(path: string, contentType: string, megabytes: number): Promise<{ head: string; body: string; accepted: number }> {
  const port = Number(new URL(server.base).port);
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let raw = '';
    let closed = false;
    socket.on('data', (data: Buffer) => (raw += data.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      closed = true;
      const [head = '', body = ''] = raw.split('\r\n\r\n');
      resolve({ head, body, accepted: socket.bytesWritten });
    });
    socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: ${contentType}\r\nTransfer-Encoding: chunked\r\n\r\n`);
    const piece = Buffer.concat([Buffer.from('100000\r\n'), Buffer.alloc(0x100000, 0), Buffer.from('\r\n')]);
    void (async () => {
      for (let sent = 0; sent < megabytes && !closed; sent += 1) {
        if (!socket.write(piece)) await new Promise((r) => (socket.once('drain', r), socket.once('close', r)));
      }
      if (!closed) socket.end('0\r\n\r\n');
    })();
  });
}

describe('the 1 MiB body limit holds at /trpc, multipart included (issue 11 item 1)', () => {
  it('answers a 256 MiB chunked multipart upload to tRPC with 413 after reading a bounded amount, memory flat', async () => {
    const before = process.memoryUsage().rss;
    const answer = await streamUpload('/trpc/products.create', 'multipart/form-data; boundary=x', 256);
    const grown = process.memoryUsage().rss - before;
    expect(answer.head).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer.head).toMatch(/x-request-id: \S+/i);
    expect(JSON.parse(answer.body)).toEqual({ code: 'PAYLOAD_TOO_LARGE', message: 'The request body exceeds 1 MiB' });
    expect(answer.accepted).toBeLessThan(64 * 1024 * 1024);
    expect(grown).toBeLessThan(64 * 1024 * 1024);
  });

  it('answers a small multipart or form body to tRPC with 415 in the contract shape', async () => {
    for (const type of ['multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'text/plain']) {
      const response = await http('POST', '/trpc/products.create', '--x--\r\n', { 'content-type': type });
      expect(response.status, type).toBe(415);
      expect(response.body).toEqual({ code: 'UNSUPPORTED_MEDIA_TYPE', message: 'The request body must be application/json' });
    }
  });

  it('answers a declared tRPC body over the limit with 413 before reading it', async () => {
    const response = await http('POST', '/trpc/products.create', JSON.stringify({ name: 'x'.repeat(1024 * 1024), price: 1 }), json);
    expect(response.status).toBe(413);
    expect(response.body).toEqual({ code: 'PAYLOAD_TOO_LARGE', message: 'The request body exceeds 1 MiB' });
  });
});

describe('deeply nested JSON is a cheap 400 (issue 11 item 10)', () => {
  const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

  it('refuses nesting deeper than 32 levels with 400, over REST and tRPC', async () => {
    for (const path of ['/products', '/trpc/products.create']) {
      const response = await http('POST', path, `{"name":${nested(32)}}`, json);
      expect(response.status, path).toBe(400);
      expect(response.body).toEqual({ code: 'BAD_REQUEST', message: 'The request body is nested deeper than 32 levels' });
    }
  });

  it('still reads 32 levels as JSON (then validation decides)', async () => {
    const response = await http('POST', '/products', `{"name":${nested(31)}}`, json);
    expect(response.status).toBe(422);
  });

  it('refuses 1 MiB of [[[…]]] at the 33rd bracket instead of building half a million arrays', async () => {
    const response = await http('POST', '/products', nested(512 * 1024 - 8), json);
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ message: 'The request body is nested deeper than 32 levels' });
  });

  it('counts brackets inside strings as text', async () => {
    const response = await http('POST', '/products', JSON.stringify({ name: '['.repeat(100), price: 1 }), json);
    expect(response.status).toBe(201);
  });
});

describe('invalid UTF-8 and lone surrogates in a JSON body are a 400 (issue 11 item 11)', () => {
  it('refuses bytes that are not UTF-8', async () => {
    for (const bytes of [[0xff], [0xc3], [0xed, 0xa0, 0x80]]) {
      const body = Buffer.concat([Buffer.from('{"name":"a'), Buffer.from(bytes), Buffer.from('","price":1}')]);
      const response = await fetch(`${server.base}/products`, { method: 'POST', headers: json, body });
      expect(response.status, bytes.join(',')).toBe(400);
      expect(await response.json()).toEqual({ code: 'BAD_REQUEST', message: 'The request body is not valid UTF-8' });
    }
  });

  it('refuses \\u escapes of half a surrogate pair, over REST and tRPC, and keeps whole pairs', async () => {
    for (const name of ['\\ud800', 'a\\udc00b', '\\ud83d\\u0041', '\\ud83d', '\\ud83d\\ud83d\\ude80']) {
      for (const path of ['/products', '/trpc/products.create']) {
        const response = await http('POST', path, `{"name":"${name}","price":1}`, json);
        expect(response.status, `${path} ${name}`).toBe(400);
        expect(response.body).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('lone surrogate') as string });
      }
    }
    const rocket = await http('POST', '/products', '{"name":"\\ud83d\\ude80 \\\\ud800","price":1}', json);
    expect(rocket.status).toBe(201);
    expect(rocket.body).toMatchObject({ name: '🚀 \\ud800' });
  });
});

describe('over-precise numbers are a 422, never silently rounded (issue 11 item 13)', () => {
  it('refuses a price JSON.parse would round to 20, naming the field', async () => {
    const response = await http('POST', '/products', '{"name":"Точность","price":19.999999999999999}', json);
    expect(response.status).toBe(422);
    expect(response.body).toEqual({
      code: 'UNPROCESSABLE_CONTENT',
      message: 'Invalid input: price: 19.999999999999999 has more digits than can be stored exactly',
      issues: [{ path: ['price'], message: '19.999999999999999 has more digits than can be stored exactly' }],
    });
  });

  it('names the path inside nested bodies and tRPC batches, and catches integers past 2^53', async () => {
    const quantity = await http('PATCH', '/products/1/quantity', '{"delta":9007199254740993}', json);
    expect(quantity.status).toBe(422);
    expect(quantity.body).toMatchObject({ issues: [{ path: ['delta'] }] });
    const batch = await http('POST', '/trpc/products.create,products.create?batch=1', '{"0":{"name":"a","price":1},"1":{"name":"b","price":1.0000000000000001}}', json);
    expect(batch.status).toBe(422);
    expect(batch.body).toMatchObject({ issues: [{ path: ['1', 'price'] }] });
  });

  it('accepts every number a double holds exactly as written, however it is spelled', async () => {
    for (const price of ['19.99', '19.990000000000000000', '1999e-2', '0.1', '99999999.99']) {
      const response = await http('POST', '/products', `{"name":"p${price}","price":${price}}`, json);
      expect(response.status, price).toBe(201);
    }
  });

  it('comes after write protection, as the contract orders 401 before 422', async () => {
    const { buildApp } = await import('../src/app.js');
    const app = buildApp({ db: server.db, apiKeys: ['k'.repeat(16)] });
    try {
      const response = await app.inject({ method: 'POST', url: '/products', headers: json, payload: '{"name":"x","price":19.999999999999999}' });
      expect(response.statusCode).toBe(401);
    } finally {
      await app.close();
    }
  });
});
