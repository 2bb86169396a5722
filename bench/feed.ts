/**
 * The change feed's rows of `pnpm bench`: F1, commit → subscriber callback while W5 writes (a subscriber in its own
 * process reads `/events/stream`); F2, 1 000 concurrent SSE subscribers held by the server, its RSS, and how long one
 * write takes to reach all of them.
 */
import { spawn } from 'node:child_process';
import type autocannon from 'autocannon';
import type pg from 'pg';
import type { Row } from './run.js';

export interface FeedBench {
  base: string;
  pid: number;
  /** A connection to the bench database, which runs with track_commit_timestamp on. */
  admin: pg.Client;
  cannon: (name: string, url: string, options: Partial<autocannon.Options>, connections?: number) => Promise<Row>;
  run: (name: string, row: () => Promise<Row>) => Promise<void>;
  rss: (pid: number) => Promise<number>;
  log: (line: string) => void;
}

const SUBSCRIBERS = Number(process.env.BENCH_SSE_SUBSCRIBERS ?? 1_000);

const percentile = (sorted: number[], q: number) => Math.round((sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0) * 10) / 10;

// The subscriber: follows the stream and, on SIGTERM, prints each event's product id, arrival time (sub-millisecond)
// and transaction start as JSON.
const SUBSCRIBER = `
const delays = [];
const response = await fetch(process.argv[1] + '/events/stream?types=product.created&after=' + process.argv[2]);
process.on('SIGTERM', () => process.stdout.write(JSON.stringify(delays), () => process.exit(0)));
process.send('ready');
const decoder = new TextDecoder();
let buffer = '';
for await (const chunk of response.body) {
  buffer += decoder.decode(chunk, { stream: true });
  let end;
  while ((end = buffer.indexOf('\\n\\n')) !== -1) {
    const data = buffer.slice(0, end).split('\\n').find((line) => line.startsWith('data: '));
    buffer = buffer.slice(end + 2);
    if (data) { const event = JSON.parse(data.slice(6)); delays.push([event.entity_id, performance.timeOrigin + performance.now(), Date.parse(event.occurred_at)]); }
  }
}`;

async function newestId(base: string): Promise<string> {
  let after = '0';
  for (;;) {
    const page = (await (await fetch(`${base}/events?after=${after}&limit=1000`)).json()) as { items: unknown[]; next_after: string };
    if (!page.items.length) return after;
    after = page.next_after;
  }
}

/**
 * F1: W5 (POST /products) with one subscriber in another process; p50/p99 are commit → callback, in ms: each
 * product's commit time is PostgreSQL's own (`pg_xact_commit_timestamp` of the row's xmin; the bench database runs
 * with track_commit_timestamp on), its arrival the subscriber's clock, the same machine's.
 */
async function latencyUnderWrites({ base, admin, cannon, log }: FeedBench): Promise<Row> {
  const after = await newestId(base);
  const child = spawn(process.execPath, ['--input-type=module', '-e', SUBSCRIBER, base, after], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await new Promise((resolve) => child.once('message', resolve));
  const body = JSON.stringify({ name: 'Бенчмарк товар', price: 99.99, quantity: 1 });
  const load = await cannon('W5 POST /products, 1 SSE subscriber', base, { requests: [{ method: 'POST', path: '/products', headers: { 'content-type': 'application/json' }, body }] });
  // Let the last events arrive, then collect.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
  const arrivals = JSON.parse(output || '[]') as [id: number, arrived: number, began: number][];
  const { rows } = await admin.query<{ id: number; committed: number }>(
    `SELECT id, extract(epoch FROM pg_xact_commit_timestamp(xmin))::float8 * 1000 AS committed FROM products WHERE id = ANY($1::int[])`,
    [arrivals.map(([id]) => id)],
  );
  const committed = new Map(rows.map((row) => [row.id, row.committed]));
  const delays = arrivals.map(([id, arrived]) => arrived - committed.get(id)!).sort((a, b) => a - b);
  const sinceStart = arrivals.map(([, arrived, began]) => arrived - began).sort((a, b) => a - b);
  log(
    `F1: W5 at ${load.rps} req/s (${load.ok} created, p99 ${load.p99} ms); ${arrivals.length} events received; commit → callback ` +
      `p50 ${percentile(delays, 0.5)} ms, p99 ${percentile(delays, 0.99)} ms, max ${percentile(delays, 1)} ms (from the transaction's start: p50 ${percentile(sinceStart, 0.5)}, p99 ${percentile(sinceStart, 0.99)})`,
  );
  // rps is W5's with the subscriber attached.
  return { ...load, workload: 'F1 commit → SSE callback (W5 load)', p50: percentile(delays, 0.5), p99: percentile(delays, 0.99), requests: arrivals.length };
}

/** F2: SUBSCRIBERS streams held open at once; the server's RSS with them, and one write's fan-out time to all. */
async function manySubscribers({ base, pid, rss, log }: FeedBench): Promise<Row> {
  const after = await newestId(base);
  const stop = new AbortController();
  const arrivals: number[] = [];
  let written = 0;
  let opened = 0;
  const streams = Array.from({ length: SUBSCRIBERS }, async () => {
    const response = await fetch(`${base}/events/stream?types=category.created&after=${after}`, { signal: stop.signal });
    opened += 1;
    try {
      for await (const chunk of response.body!) {
        if (new TextDecoder().decode(chunk as Uint8Array).includes('data: ')) arrivals.push(Date.now() - written);
      }
    } catch {
      // aborted at the end
    }
  });
  while (opened < SUBSCRIBERS) await new Promise((resolve) => setTimeout(resolve, 50));
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const heldRss = await rss(pid);
  written = Date.now();
  const created = (await (await fetch(`${base}/categories`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: `Бенчмарк ${written}` }) })).json()) as { id: number };
  const deadline = Date.now() + 10_000;
  while (arrivals.length < SUBSCRIBERS && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  stop.abort();
  await Promise.allSettled(streams);
  await fetch(`${base}/categories/${created.id}`, { method: 'DELETE' });
  const sorted = [...arrivals].sort((a, b) => a - b);
  log(`F2: ${SUBSCRIBERS} SSE subscribers held, server RSS ${Math.round(heldRss)} MB; one write reached ${arrivals.length} of them, the last after ${sorted.at(-1) ?? 0} ms`);
  return { workload: `F2 ${SUBSCRIBERS} SSE subscribers, one write's fan-out`, connections: SUBSCRIBERS, rps: 0, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), errors: SUBSCRIBERS - arrivals.length, non2xx: 0, requests: arrivals.length, ok: arrivals.length };
}

/** The feed's rows, appended to the bench table by `run`. */
export async function feedWorkloads(bench: FeedBench): Promise<void> {
  await bench.run('F1 commit → SSE callback under W5', () => latencyUnderWrites(bench));
  await bench.run('F2 1000 SSE subscribers', () => manySubscribers(bench));
}
