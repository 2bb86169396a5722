/**
 * Oversized uploads (issue 16): every client, however it uploads, reads its 413 instead of a reset. Raw
 * sockets and fetch send bodies over the 1 MiB limit with and without a declared length and `Expect`.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnServer, type SpawnedServer } from './helpers.js';

// A server process of its own: a reset only shows when client and server do not share one event loop.
let server: SpawnedServer;
let port: number;

beforeAll(async () => {
  server = await spawnServer();
  port = server.port;
});
afterAll(() => server.stop());

const UPLOADS = 20;
const SIZE = 2 * 1024 * 1024;
const PIECE = 64 * 1024;
const TOO_LARGE = { code: 'PAYLOAD_TOO_LARGE', message: 'The request body exceeds 1 MiB' };

interface Answer {
  status?: number;
  requestId?: string;
  body?: unknown;
  sent100: boolean;
  error?: string;
}

/** Splits what a raw socket received into its interim and final responses. */
function parseAnswer(raw: string, error?: string): Answer {
  const sent100 = /^HTTP\/1\.1 100 /.test(raw);
  const final = raw.replace(/^HTTP\/1\.1 100 [^\r]*\r\n\r\n/, '');
  const match = /^HTTP\/1\.1 (\d{3}) [^\r]*\r\n([\s\S]*?)\r\n\r\n([\s\S]*)$/.exec(final);
  if (!match) return { sent100, error: error ?? 'no response' };
  const headers = Object.fromEntries(match[2]!.split('\r\n').map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
  let body: unknown;
  try {
    body = JSON.parse(match[3]!);
  } catch {
    body = match[3];
  }
  return { status: Number(match[1]), requestId: headers['x-request-id'], body, sent100, error };
}

/**
 * One upload the way a plain HTTP/1.1 client does it: the head, then the body in 64 KiB writes, without
 * looking at the answer before the body is sent (unless it sent `Expect: 100-continue`, where it waits for
 * the interim answer like curl, at most a second). `size: Infinity` never stops sending.
 */
function rawUpload(options: { chunked: boolean; expect: boolean; size?: number }): Promise<Answer & { seconds: number }> {
  const { chunked, expect: expectContinue, size = SIZE } = options;
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let raw = '';
    let error: string | undefined;
    let closed = false;
    socket.on('data', (data: Buffer) => (raw += data.toString('latin1')));
    socket.on('error', (e: NodeJS.ErrnoException) => (error ??= e.code ?? e.message));
    socket.on('close', () => {
      closed = true;
      resolve({ ...parseAnswer(raw, error), seconds: (Date.now() - started) / 1000 });
    });
    const head = [
      'POST /products HTTP/1.1',
      'Host: 127.0.0.1',
      'Content-Type: application/json',
      chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${size}`,
      ...(expectContinue ? ['Expect: 100-continue'] : []),
    ].join('\r\n');
    const piece = Buffer.alloc(PIECE, 'x');
    const framed = Buffer.concat([Buffer.from(`${PIECE.toString(16)}\r\n`), piece, Buffer.from('\r\n')]);

    const send = async () => {
      socket.write(`${head}\r\n\r\n`);
      if (expectContinue) {
        for (let waited = 0; waited < 1_000 && !raw && !closed; waited += 10) await new Promise((r) => setTimeout(r, 10));
        // A final answer instead of 100 Continue: the body is not sent at all.
        if (raw && !raw.startsWith('HTTP/1.1 100 ')) return;
      }
      for (let sent = 0; sent < size && !closed && !error; sent += PIECE) {
        if (!socket.write(chunked ? framed : piece)) {
          await new Promise((r) => {
            socket.once('drain', r);
            socket.once('close', r);
          });
        }
      }
      if (chunked && !closed && !error) socket.write('0\r\n\r\n');
    };
    void send();
    // Past any sane answer time: give up so a hang fails the test instead of timing it out.
    setTimeout(() => socket.destroy(), 20_000).unref();
  });
}

async function fetchUpload(chunked: boolean): Promise<Answer> {
  const description = 'x'.repeat(SIZE);
  const body = chunked
    ? new ReadableStream<Uint8Array>({
        start(controller) {
          const bytes = new TextEncoder().encode(JSON.stringify({ name: 'x', price: 1, description }));
          for (let at = 0; at < bytes.length; at += PIECE) controller.enqueue(bytes.subarray(at, at + PIECE));
          controller.close();
        },
      })
    : JSON.stringify({ name: 'x', price: 1, description });
  try {
    const response = await fetch(`${server.base}/products`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      // Node's fetch needs half duplex to send a stream (as chunked).
      duplex: 'half',
    });
    return { status: response.status, requestId: response.headers.get('x-request-id') ?? undefined, body: await response.json(), sent100: false };
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    return { sent100: false, error: cause?.code ?? cause?.message ?? String(e) };
  }
}

/** How many of the answers were the contract's 413 with a request id, and what the others were. */
function tally(answers: Answer[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const answer of answers) {
    const ok = answer.status === 413 && Boolean(answer.requestId) && JSON.stringify(answer.body) === JSON.stringify(TOO_LARGE);
    const key = ok ? '413' : (answer.error ?? `status ${String(answer.status)}`);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

describe('an upload over 1 MiB gets its 413, never a reset (issue 16)', () => {
  for (const chunked of [false, true]) {
    for (const expectContinue of [false, true]) {
      const name = `${chunked ? 'chunked' : 'with Content-Length'}, ${expectContinue ? 'with' : 'without'} Expect: 100-continue`;
      it(`raw socket, ${name}: ${UPLOADS} of ${UPLOADS} read the 413`, async () => {
        const answers = await Promise.all(Array.from({ length: UPLOADS }, () => rawUpload({ chunked, expect: expectContinue })));
        expect(tally(answers)).toEqual({ 413: UPLOADS });
        // A declared length over the limit is refused before the client is invited to send it.
        if (expectContinue && !chunked) expect(answers.filter((answer) => answer.sent100)).toEqual([]);
      });
    }
    it(`fetch, ${chunked ? 'chunked' : 'with Content-Length'}: ${UPLOADS} of ${UPLOADS} read the 413`, async () => {
      const answers = await Promise.all(Array.from({ length: UPLOADS }, () => fetchUpload(chunked)));
      expect(tally(answers)).toEqual({ 413: UPLOADS });
    });
  }

  it('refuses a declared length over the limit before 100 Continue and before reading any body', async () => {
    const answer = await rawUpload({ chunked: false, expect: true, size: 1024 * 1024 + 1 });
    expect(answer.sent100).toBe(false);
    expect(answer.status).toBe(413);
    expect(answer.body).toEqual(TOO_LARGE);
  });

  it('still invites a body within the limit with 100 Continue', async () => {
    const answer = await rawUpload({ chunked: false, expect: true, size: 10 });
    expect(answer.sent100).toBe(true);
    expect(answer.status).toBe(400);
  });

  for (const chunked of [false, true]) {
    it(`cuts off a client that never stops sending (${chunked ? 'chunked' : 'declared length'}), after its 413`, async () => {
      const answer = await rawUpload({ chunked, expect: false, size: chunked ? Infinity : 2 ** 40 });
      expect(answer.status).toBe(413);
      expect(answer.seconds).toBeLessThan(8);
    });
  }
});
