import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ERROR_CODES } from '@tradeos/contract';
import { createDatabase, freePort } from '@tradeos/db';
import { useEmptyDatabase } from '@tradeos/db/fixture';
import { describe, expect, it } from 'vitest';

// The compiled entry point, as `pnpm start` runs it (turbo builds the package before its tests).
const main = new URL('../dist/main.js', import.meta.url).pathname;
// Whatever a developer's .env says, these servers run with writes open, no rate limit and one process.
const QUIET = { API_KEYS: '', RATE_LIMIT_MAX: '0', WORKERS: '1', SEED_ON_START: 'false' };
const database = useEmptyDatabase();

interface Main {
  child: ChildProcess;
  port: number;
  base: string;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
  output: () => string;
}

/** The compiled server as a child process on a free port, once /health answers. */
async function startMain(env: Record<string, string> = {}): Promise<Main> {
  const port = await freePort();
  const child = spawn(process.execPath, [main], {
    env: { ...process.env, ...QUIET, DATABASE_URL: database.url, MIGRATE_ON_START: 'true', PORT: String(port), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const base = `http://127.0.0.1:${port}`;
  // Until the server answers (or exits): a start-up on a busy machine takes longer, it does not fail.
  while (child.exitCode === null && !(await fetch(`${base}/health`).then((r) => r.ok, () => false))) await sleep(100);
  return { child, port, base, exited, output: () => output };
}

describe('SIGTERM under load', () => {
  it('finishes in-flight requests, loses no acknowledged write, exits 0 within 10 s', async () => {
    const { child, base, exited, output } = await startMain();

    const acknowledged: number[] = [];
    const outcomes = { created: 0, unavailable: 0, refused: 0 };
    let stop = false;
    const worker = async (n: number) => {
      for (let i = 0; !stop; i += 1) {
        try {
          const response = await fetch(`${base}/products`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ name: `Нагрузка ${n}-${i}`, price: 1 }),
          });
          if (response.status === 201) {
            acknowledged.push(((await response.json()) as { id: number }).id);
            outcomes.created += 1;
          } else {
            expect(response.status).toBe(503);
            outcomes.unavailable += 1;
            await response.body?.cancel();
          }
        } catch {
          outcomes.refused += 1;
          await sleep(20);
        }
      }
    };
    const workers = Array.from({ length: 16 }, (_, n) => worker(n));
    // Signalled once the load is real, counted in acknowledged writes rather than in time a slow machine fills with less
    // (a worker that fails ends the wait).
    const loaded = async () => {
      while (outcomes.created < 20) await new Promise((resolve) => setTimeout(resolve, 10));
    };
    await Promise.race([loaded(), Promise.all(workers)]);
    const signalled = Date.now();
    child.kill('SIGTERM');
    const [code] = await exited;
    const took = Date.now() - signalled;
    await sleep(200);
    stop = true;
    await Promise.all(workers);

    expect(code, output()).toBe(0);
    expect(took).toBeLessThan(10_000);
    expect(outcomes.refused).toBeGreaterThan(0);
    await expect(fetch(`${base}/health`)).rejects.toThrow();
    await expectStored(acknowledged);
  });
});

/** Every id is a product in the database. */
async function expectStored(ids: number[]): Promise<void> {
  const db = createDatabase({ url: database.url });
  try {
    const [rows] = await db.sequelize.query('SELECT id FROM products WHERE id = ANY($1::int[])', { bind: [ids] });
    expect(rows).toHaveLength(ids.length);
  } finally {
    await db.close();
  }
}

interface Outcome {
  kind: string;
  /** When the whole request had been handed to the kernel ('finish'); unset if it never was. */
  writtenAt?: number;
  /** Sent on a connection an earlier answer had come back on (kept alive), not on a fresh one. */
  reused?: boolean;
  status?: number;
  headers?: IncomingHttpHeaders;
  body?: string;
  /** A transport failure: ECONNREFUSED, ECONNRESET (`socket hang up` included), EPIPE… */
  error?: string;
  settledAt: number;
}

/** One request on `agent`, its answer read to the end; a transport failure is an outcome too, never a throw. */
function send(agent: Agent, port: number, kind: string, method: string, path: string, body?: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const outcome: Outcome = { kind, settledAt: 0 };
    const settle = (fields: Partial<Outcome>) => resolve(Object.assign(outcome, fields, { settledAt: Date.now() }));
    const request = httpRequest({
      host: '127.0.0.1',
      port,
      method,
      path,
      agent,
      headers: body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    request.on('finish', () => Object.assign(outcome, { writtenAt: Date.now(), reused: request.reusedSocket }));
    request.on('error', (error: NodeJS.ErrnoException) => settle({ error: error.code ?? error.message }));
    request.on('response', (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('error', (error: NodeJS.ErrnoException) => settle({ status: response.statusCode, error: error.code ?? error.message }));
      response.on('end', () => settle({ status: response.statusCode, headers: response.headers, body: text }));
    });
    request.end(body);
  });
}

const RESET = new Set(['ECONNRESET', 'EPIPE']);

/** `{code, message}` with a code of the contract's table, and nothing of Fastify's own error shape. */
function isContractError(body: string | undefined): boolean {
  try {
    const parsed = JSON.parse(body ?? '') as Record<string, unknown>;
    return ERROR_CODES.includes(parsed.code as never) && typeof parsed.message === 'string' && !('statusCode' in parsed);
  } catch {
    return false;
  }
}

/**
 * Opens fresh connections until one is refused. `lastAccepted` is when the last accepted attempt began: the listener
 * was still open then, so a request written before it was written before the server stopped listening.
 */
function probeListener(port: number, stopped: () => boolean): { done: Promise<void>; lastAccepted: () => number } {
  let lastAccepted = 0;
  const done = (async () => {
    while (!stopped()) {
      const began = Date.now();
      const socket = connect(port, '127.0.0.1');
      const accepted = await new Promise<boolean>((resolve) => {
        socket.once('connect', () => resolve(true));
        socket.once('error', () => resolve(false));
      });
      socket.destroy();
      if (!accepted) return;
      lastAccepted = Math.max(lastAccepted, began);
      await sleep(5);
    }
  })();
  return { done, lastAccepted: () => lastAccepted };
}

const NOTHING_COMES = 'types=category.deleted';

describe.each([1, 2])('SIGTERM with 24 keep-alive clients (WORKERS=%i)', (workers) => {
  it('answers every request received in the contract, ends long polls and streams, resets none, exits 0', async () => {
    const server = await startMain({ WORKERS: String(workers), SHUTDOWN_TIMEOUT_MS: '15000' });
    const { child, port, exited } = server;
    const seeded = await Promise.all(
      [1, 2, 3].map(async (n) => {
        const response = await fetch(`${server.base}/products`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name: `Seed ${n}`, price: 1 }),
        });
        return ((await response.json()) as { id: number }).id;
      }),
    );

    let stop = false;
    const outcomes: Outcome[] = [];
    // Nothing matches these feeds: a long poll waits its 20 s and a stream stays open, unless the shutdown ends them.
    const kinds: [string, string, string, (i: number) => string | undefined][] = [
      ['list', 'GET', '/products?limit=5', () => undefined],
      ['byId', 'GET', `/products/${seeded[0]}`, () => undefined],
      ['create', 'POST', '/products', (i) => JSON.stringify({ name: `Keep-alive ${i}`, price: 1 })],
      ['longPoll', 'GET', `/events?wait=20&${NOTHING_COMES}`, () => undefined],
      ['trpcLongPoll', 'GET', `/trpc/events.list?input=${encodeURIComponent(JSON.stringify({ wait: 20, types: 'category.deleted' }))}`, () => undefined],
    ];
    const loop = async (n: number) => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const [kind, method, path, body] = kinds[n % kinds.length]!;
      for (let i = 0; !stop; i += 1) {
        const outcome = await send(agent, port, kind, method, path, body(n * 100_000 + i));
        outcomes.push(outcome);
        if (outcome.error) await sleep(20);
      }
      agent.destroy();
    };
    const streams = [`/events/stream?${NOTHING_COMES}`, `/trpc/events.onChange?input=${encodeURIComponent(JSON.stringify({ types: 'category.deleted' }))}`].map((path) => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      let markOpened: () => void = () => undefined;
      const opened = new Promise<void>((resolve) => (markOpened = resolve));
      const ended = new Promise<Outcome>((resolve) => {
        const request = httpRequest({ host: '127.0.0.1', port, path, agent, headers: { accept: 'text/event-stream' } });
        request.on('error', (error: NodeJS.ErrnoException) => resolve({ kind: path, error: error.code ?? error.message, settledAt: Date.now() }));
        request.on('response', (response) => {
          markOpened();
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('error', (error: NodeJS.ErrnoException) => resolve({ kind: path, status: response.statusCode, error: error.code ?? error.message, settledAt: Date.now() }));
          response.on('end', () => resolve({ kind: path, status: response.statusCode, headers: response.headers, body: text, settledAt: Date.now() }));
        });
        request.end();
      });
      return { opened, ended, agent };
    });
    const loops = Array.from({ length: 22 }, (_, n) => loop(n));
    await Promise.all(streams.map((stream) => stream.opened));
    // Every kind has been answered at least once, and the long polls are waiting again.
    while (new Set(outcomes.filter((outcome) => outcome.status).map((outcome) => outcome.kind)).size < 3) await sleep(50);
    await sleep(500);

    const probe = probeListener(port, () => stop);
    await sleep(100);
    const signalled = Date.now();
    child.kill('SIGTERM');
    const [code] = await exited;
    const exitedAt = Date.now();
    stop = true;
    await Promise.all([...loops, probe.done]);
    const ended = await Promise.all(streams.map((stream) => stream.ended));
    for (const stream of streams) stream.agent.destroy();

    const summary = {
      workers,
      exitCode: code,
      byStatus: outcomes.reduce<Record<string, number>>((counts, outcome) => {
        const key = String(outcome.status ?? outcome.error);
        return { ...counts, [key]: (counts[key] ?? 0) + 1 };
      }, {}),
      resetsWrittenBeforeListenerClosed: outcomes.filter((outcome) => RESET.has(outcome.error ?? '') && outcome.writtenAt! < probe.lastAccepted()).length,
      resetsAfter: outcomes.filter((outcome) => RESET.has(outcome.error ?? '') && !(outcome.writtenAt! < probe.lastAccepted())).length,
      streams: ended.map((stream) => stream.error ?? stream.status),
    };
    console.log('shutdown under keep-alive load', JSON.stringify(summary));

    expect(code, server.output()).toBe(0);
    // Any failure of a request written while the listener was open, a reset above all, is a request lost. With
    // WORKERS, a connection the cluster primary accepted in the instant its last worker stopped is closed by Node
    // unanswered (it has no worker left to hand it to): only requests on connections a worker already served count.
    const lost = outcomes.filter(
      (outcome) => outcome.error && outcome.writtenAt !== undefined && outcome.writtenAt < probe.lastAccepted() && (workers === 1 || outcome.reused),
    );
    expect(lost, server.output()).toEqual([]);
    const answered = outcomes.filter((outcome) => outcome.status !== undefined && !outcome.error);
    expect(answered.filter((outcome) => !(outcome.status! < 300 || isContractError(outcome.body)))).toEqual([]);

    // The long polls waiting at SIGTERM answered with what they had (nothing) and `Connection: close`: none was held
    // until the deadline (that would be a 503).
    const polls = answered.filter((outcome) => outcome.kind.endsWith('ongPoll'));
    expect(polls.filter((poll) => poll.status !== 200)).toEqual([]);
    expect(polls.some((poll) => poll.headers!.connection === 'close' && poll.settledAt >= signalled)).toBe(true);
    // Both streams ended cleanly (not cut) between the signal and the exit.
    for (const stream of ended) {
      expect(stream.error).toBeUndefined();
      expect(stream.status).toBe(200);
      expect(stream.settledAt).toBeGreaterThanOrEqual(signalled);
      expect(stream.settledAt).toBeLessThanOrEqual(exitedAt);
    }
    expect(exitedAt - signalled).toBeLessThan(15_000);

    const created = answered.filter((outcome) => outcome.status === 201).map((outcome) => (JSON.parse(outcome.body!) as { id: number }).id);
    expect(created.length).toBeGreaterThan(0);
    await expectStored(created);
  });
});

describe('SIGTERM with requests that cannot finish before SHUTDOWN_TIMEOUT_MS', () => {
  it('answers them 503 busy with Retry-After and Connection: close, changes nothing, exits 0', async () => {
    const server = await startMain({ SHUTDOWN_TIMEOUT_MS: '1500' });
    const { child, port, exited } = server;
    const product = (await (
      await fetch(`${server.base}/products`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Held', price: 1 }) })
    ).json()) as { id: number; version: number };

    // The test holds the product's row lock, so the server's update waits for it past the deadline.
    const db = createDatabase({ url: database.url });
    const holder = await db.sequelize.transaction();
    try {
      await db.sequelize.query('SELECT id FROM products WHERE id = $1 FOR UPDATE', { bind: [product.id], transaction: holder });
      const agent = new Agent({ keepAlive: true, maxSockets: 2 });
      const update = send(agent, port, 'update', 'PUT', `/products/${product.id}`, JSON.stringify({ price: 2 }));
      for (let i = 0; i < 200; i += 1) {
        const [rows] = await db.sequelize.query("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()");
        if (rows.length) break;
        await sleep(25);
      }

      // And an upload still arriving: half of its declared body sent, the rest never.
      const body = JSON.stringify({ name: 'Never finished', price: 1 });
      const upload = new Promise<Outcome>((resolve) => {
        const request = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/products', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } });
        request.on('error', (error: NodeJS.ErrnoException) => resolve({ kind: 'upload', error: error.code ?? error.message, settledAt: Date.now() }));
        request.on('response', (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () => {
            resolve({ kind: 'upload', status: response.statusCode, headers: response.headers, body: text, settledAt: Date.now() });
            request.destroy();
          });
        });
        request.write(body.slice(0, 10));
      });
      await sleep(200);

      child.kill('SIGTERM');
      const answers = await Promise.all([update, upload]);
      const [code] = await exited;
      console.log('shutdown deadline', JSON.stringify({ exitCode: code, answers: answers.map((answer) => answer.error ?? answer.status) }));

      expect(code, server.output()).toBe(0);
      for (const answer of answers) {
        expect(answer.error, `${answer.kind}: ${server.output()}`).toBeUndefined();
        expect(answer.status).toBe(503);
        expect(answer.headers!['retry-after']).toMatch(/^[1-9]\d*$/);
        expect(answer.headers!.connection).toBe('close');
        expect(answer.headers!['x-request-id']).toBeTruthy();
        expect(JSON.parse(answer.body!)).toEqual({ code: 'SERVICE_UNAVAILABLE', message: expect.stringMatching(/busy/) as string });
      }
    } finally {
      await holder.rollback();
      const [rows] = await db.sequelize.query('SELECT price::float AS price, version FROM products WHERE id = $1', { bind: [product.id] });
      await db.close();
      // Busy means nothing was done: the update never applied.
      expect(rows).toEqual([{ price: 1, version: product.version }]);
    }
  });
});

describe('WORKERS=2', () => {
  it('serves from two processes on one port and stops them all on SIGTERM', async () => {
    const { child, base, exited, output } = await startMain({ WORKERS: '2' });
    expect(output()).toContain('2 workers serving');
    const statuses = await Promise.all(Array.from({ length: 20 }, () => fetch(`${base}/categories`).then((r) => r.status)));
    expect(statuses.every((status) => status === 200)).toBe(true);

    const signalled = Date.now();
    child.kill('SIGTERM');
    const [code] = await exited;
    expect(code, output()).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(10_000);
    await expect(fetch(`${base}/health`)).rejects.toThrow();
  });
});
