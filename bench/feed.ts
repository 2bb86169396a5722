/**
 * The change feed's rows of `pnpm bench`: F1, commit → subscriber callback while W5 writes (a subscriber in its own
 * process reads `/events/stream`); F2, 1 000 concurrent SSE subscribers held by the server, its RSS, and how long one
 * write takes to reach all of them.
 */
import { spawn } from 'node:child_process';
import type autocannon from 'autocannon';
import type { Row } from './run.js';


export interface FeedBench {
  base: string;
  pid: number;
  cannon: (name: string, url: string, options: Partial<autocannon.Options>, connections?: number) => Promise<Row>;
  run: (name: string, row: () => Promise<Row>) => Promise<void>;
  rss: (pid: number) => Promise<number>;
  log: (line: string) => void;
}

const SUBSCRIBERS = Number(process.env.BENCH_SSE_SUBSCRIBERS ?? 1_000);

const percentile = (sorted: number[], q: number) => Math.round((sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0) * 10) / 10;

// The subscriber: follows the stream and, on SIGTERM, prints each event's product id and arrival time as JSON.
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
    if (data) { const event = JSON.parse(data.slice(6)); delays.push([event.entity_id, Date.now(), Date.parse(event.occurred_at)]); }
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

/** F1: W5 (POST /products) with one subscriber in another process; p50/p99 are commit → callback, in ms. */
async function latencyUnderWrites({ base, cannon, log }: FeedBench): Promise<Row> {
  const after = await newestId(base);
  const child = spawn(process.execPath, ['--input-type=module', '-e', SUBSCRIBER, base, after], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await new Promise((resolve) => child.once('message', resolve));
  const body = JSON.stringify({ name: 'Бенчмарк товар', price: 99.99, quantity: 1 });
  // When each writer saw its 201: after the commit, so arrival minus this is a lower bound of commit → callback.
  const answered = new Map<number, number>();
  const onResponse = (status: number, text: string) => {
    if (status === 201) answered.set((JSON.parse(text) as { id: number }).id, Date.now());
  };
  const load = await cannon('W5 POST /products, 1 SSE subscriber', base, { requests: [{ method: 'POST', path: '/products', headers: { 'content-type': 'application/json' }, body, onResponse }] });
  // Let the last events arrive, then collect.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
  const arrivals = JSON.parse(output || '[]') as [id: number, arrived: number, began: number][];
  // Commit lies between the transaction's start (occurred_at) and the writer's 201: the two bound commit → callback.
  const upper = arrivals.map(([, arrived, began]) => arrived - began).sort((a, b) => a - b);
  const lower = arrivals.map(([id, arrived]) => Math.max(0, arrived - (answered.get(id) ?? arrived))).sort((a, b) => a - b);
  log(
    `F1: W5 at ${load.rps} req/s (${load.ok} created, p99 ${load.p99} ms); ${arrivals.length} events received; commit → callback ` +
      `p50 ${percentile(lower, 0.5)}–${percentile(upper, 0.5)} ms, p99 ${percentile(lower, 0.99)}–${percentile(upper, 0.99)} ms (after the 201 – after the transaction began)`,
  );
  // rps is W5's with the subscriber attached; p50/p99 are the subscriber's delay from its transaction's start (upper bound).
  return { ...load, workload: 'F1 tx start → SSE callback (W5 load)', p50: percentile(upper, 0.5), p99: percentile(upper, 0.99), requests: arrivals.length };
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
