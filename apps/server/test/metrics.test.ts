/**
 * Contract v1.3, `GET /metrics`, over real HTTP on a real database: the families and their types, counters and the
 * histogram moving with requests, pool gauges with connections held, the feed's delay and streams, reservations by
 * state, the key, and with WORKERS=2 the sums over both workers of a real cluster.
 */
import { request as httpRequest } from 'node:http';
import { operations } from '@tradeos/contract';
import { createDatabase } from '@tradeos/db';
import { AggregatorRegistry, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replicaFamilies } from '../src/metrics.js';
import { call, sameDatabase, spawnServer, startServer, type LiveServer, type SpawnedServer } from './helpers.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Scrape {
  status: number;
  contentType: string | null;
  types: Map<string, string>;
  samples: Sample[];
  text: string;
}

/** The Prometheus text format, as a scraper reads it: TYPE lines and samples (label values here need no unescaping). */
function parse(text: string): Pick<Scrape, 'types' | 'samples'> {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    const sample = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample) continue;
    const labels = Object.fromEntries([...(sample[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((match) => [match[1]!, match[2]!]));
    samples.push({ name: sample[1]!, labels, value: Number(sample[3]) });
  }
  return { types, samples };
}

async function scrape(base: string, headers: Record<string, string> = {}): Promise<Scrape> {
  const response = await fetch(`${base}/metrics`, { headers });
  const text = await response.text();
  return { status: response.status, contentType: response.headers.get('content-type'), text, ...parse(text) };
}

/** The value of the one sample with exactly these labels, or undefined. */
function valueOf({ samples }: Pick<Scrape, 'samples'>, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = JSON.stringify(Object.entries(labels).sort());
  return samples.find((sample) => sample.name === name && JSON.stringify(Object.entries(sample.labels).sort()) === wanted)?.value;
}

/** Scrapes until `holds` is true of a scrape (at most 20 s), and returns that scrape, or the last one. */
async function scrapeUntil(base: string, holds: (scrape: Scrape) => boolean): Promise<Scrape> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const current = await scrape(base);
    if (holds(current) || Date.now() > deadline) return current;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('GET /metrics, one process', () => {
  let server: LiveServer;
  beforeAll(async () => {
    server = await startServer({ seeded: true, database: { pool: { max: 2 } } });
  });
  afterAll(() => server.close());

  it('holds every family with its type, as Prometheus text', async () => {
    const first = await scrape(server.base);
    expect(first.status).toBe(200);
    expect(first.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(Object.fromEntries([...first.types].filter(([name]) => name.startsWith('catalog_')))).toEqual({
      catalog_processes: 'gauge',
      catalog_db_pool_connections_in_use: 'gauge',
      catalog_db_pool_connections_idle: 'gauge',
      catalog_db_pool_waiting: 'gauge',
      catalog_db_pool_connections_max: 'gauge',
      catalog_replica_lag_seconds: 'gauge',
      catalog_replica_state: 'gauge',
      catalog_feed_delay_seconds: 'gauge',
      catalog_feed_open_streams: 'gauge',
      catalog_http_requests_total: 'counter',
      catalog_http_request_duration_seconds: 'histogram',
      catalog_reservations: 'gauge',
    });
    // Node's default metrics, and the one process.
    expect(first.types.get('process_cpu_user_seconds_total')).toBe('counter');
    expect(first.types.get('nodejs_eventloop_lag_seconds')).toBe('gauge');
    expect(valueOf(first, 'catalog_processes')).toBe(1);
    // Every pool, with its maximum; no replica configured, so no replica series.
    for (const [pool, max] of [['models', 2], ['reads', 2], ['control', 1]] as const) expect(valueOf(first, 'catalog_db_pool_connections_max', { pool })).toBe(max);
    expect(first.samples.filter((sample) => sample.name.startsWith('catalog_replica_'))).toEqual([]);
    expect(valueOf(first, 'catalog_feed_delay_seconds')).toBeGreaterThanOrEqual(0);
    // The scrape itself is counted under its route, once the answer is out.
    const second = await scrape(server.base);
    expect(valueOf(second, 'catalog_http_requests_total', { route: '/metrics', method: 'GET', status: '200' })).toBeGreaterThanOrEqual(1);
  });

  it('counts each request by route pattern, method and status, and times it', async () => {
    const labels = (route: string, status: number) => ({ route, method: 'GET', status: String(status) });
    const before = await scrape(server.base);
    expect((await call(server.base, 'GET', '/products/1')).status).toBe(200);
    expect((await call(server.base, 'GET', '/products/999999')).status).toBe(404);
    expect((await call(server.base, 'GET', '/products/abc')).status).toBe(422);
    expect((await call(server.base, 'GET', '/nowhere/7f3a')).status).toBe(404);
    expect((await call(server.base, 'GET', '/nowhere/9b1c?x=1')).status).toBe(404);
    const after = await scrape(server.base);
    const moved = (route: string, status: number) =>
      (valueOf(after, 'catalog_http_requests_total', labels(route, status)) ?? 0) - (valueOf(before, 'catalog_http_requests_total', labels(route, status)) ?? 0);
    expect([moved('/products/:id', 200), moved('/products/:id', 404), moved('/products/:id', 422), moved('unmatched', 404)]).toEqual([1, 1, 1, 2]);
    // The raw paths never become labels.
    expect(after.text).not.toContain('/nowhere');
    expect(after.text).not.toContain('/products/999999');

    const histogram = (scrape: Scrape, suffix: string, extra: Record<string, string> = {}) =>
      valueOf(scrape, `catalog_http_request_duration_seconds_${suffix}`, { route: '/products/:id', method: 'GET', ...extra }) ?? 0;
    expect(histogram(after, 'count') - histogram(before, 'count')).toBe(3);
    expect(histogram(after, 'bucket', { le: '+Inf' })).toBe(histogram(after, 'count'));
    expect(histogram(after, 'bucket', { le: '0.001' })).toBeLessThanOrEqual(histogram(after, 'bucket', { le: '15' }));
    expect(histogram(after, 'sum')).toBeGreaterThan(histogram(before, 'sum'));
  });

  it('shows connections held in each pool, and callers waiting for one', async () => {
    const gauge = (scrape: Scrape, name: string, pool: string) => valueOf(scrape, name, { pool });
    // Both connections of the hot reads' pool held by sleeping statements, a third caller waiting (it may give up waiting).
    const sleepers = [server.db.query('SELECT pg_sleep(3)'), server.db.query('SELECT pg_sleep(3)'), server.db.query('SELECT 1').catch(() => undefined)];
    const held = await scrapeUntil(server.base, (now) => gauge(now, 'catalog_db_pool_connections_in_use', 'reads') === 2 && gauge(now, 'catalog_db_pool_waiting', 'reads')! >= 1);
    expect(gauge(held, 'catalog_db_pool_connections_in_use', 'reads')).toBe(2);
    expect(gauge(held, 'catalog_db_pool_connections_idle', 'reads')).toBe(0);
    expect(gauge(held, 'catalog_db_pool_waiting', 'reads')).toBeGreaterThanOrEqual(1);
    await Promise.all(sleepers);

    // Both connections of the models' pool (Sequelize's, read through its adapter) held by open transactions.
    const releases: (() => void)[] = [];
    const transactions = [1, 2].map(() => server.db.sequelize.transaction(() => new Promise<void>((resolve) => releases.push(resolve))));
    const inTransactions = await scrapeUntil(server.base, (now) => gauge(now, 'catalog_db_pool_connections_in_use', 'models') === 2);
    expect(gauge(inTransactions, 'catalog_db_pool_connections_in_use', 'models')).toBe(2);
    for (const release of releases) release();
    await Promise.all(transactions);
    const free = await scrapeUntil(server.base, (now) => gauge(now, 'catalog_db_pool_connections_in_use', 'reads') === 0);
    expect(gauge(free, 'catalog_db_pool_connections_in_use', 'reads')).toBe(0);
  });

  it("shows the feed's open streams, and its delay while a committed event waits behind an open writer", async () => {
    const streams = (scrape: Scrape, transport: string) => valueOf(scrape, 'catalog_feed_open_streams', { transport }) ?? 0;
    const both = (scrape: Scrape) => [streams(scrape, 'sse'), streams(scrape, 'trpc')];
    const reader = new AbortController();
    const opened = await Promise.all(
      ['/events/stream', `/trpc/events.onChange?input=${encodeURIComponent(JSON.stringify({}))}`].map((path) => fetch(`${server.base}${path}`, { signal: reader.signal })),
    );
    expect(opened.map((response) => response.headers.get('content-type'))).toEqual(['text/event-stream; charset=utf-8', 'text/event-stream']);
    expect(both(await scrapeUntil(server.base, (now) => both(now).join() === '1,1'))).toEqual([1, 1]);
    reader.abort();
    expect(both(await scrapeUntil(server.base, (now) => both(now).join() === '0,0'))).toEqual([0, 0]);
    // A stream's lifetime is no request's latency: streams are counted, not timed.
    const after = await scrape(server.base);
    expect(valueOf(after, 'catalog_http_request_duration_seconds_count', { route: '/events/stream', method: 'GET' })).toBeUndefined();

    // An open transaction that wrote an event holds the horizon below its id; an event committed after it waits.
    const writer = createDatabase(sameDatabase(server.db));
    const open = await writer.sequelize.transaction();
    try {
      await writer.sequelize.query('UPDATE products SET quantity = quantity + 1 WHERE id = 1', { transaction: open });
      await writer.sequelize.query('UPDATE products SET quantity = quantity + 1 WHERE id = 2');
      const delay = (scrape: Scrape) => valueOf(scrape, 'catalog_feed_delay_seconds') ?? 0;
      expect(delay(await scrapeUntil(server.base, (now) => delay(now) >= 0.5))).toBeGreaterThanOrEqual(0.5);
      await open.commit();
      expect(delay(await scrapeUntil(server.base, (now) => delay(now) === 0))).toBe(0);
    } finally {
      await writer.close();
    }
  });

  it('counts reservations by the state a client sees', async () => {
    const { body } = operations['reservations.create'].example;
    const create = async () => (await call(server.base, 'POST', '/reservations', body)).body as { id: string };
    const before = await scrape(server.base);
    const kept = await create();
    const done = await create();
    expect((await call(server.base, 'POST', `/reservations/${done.id}/commit`)).status).toBe(200);
    const released = await create();
    expect((await call(server.base, 'POST', `/reservations/${released.id}/release`)).status).toBe(200);
    expect(kept.id).toBeTruthy();
    const after = await scrape(server.base);
    const moved = (state: string) => (valueOf(after, 'catalog_reservations', { state }) ?? 0) - (valueOf(before, 'catalog_reservations', { state }) ?? 0);
    expect(['active', 'committed', 'released', 'expired'].map(moved)).toEqual([1, 1, 1, 0]);
  });
});

describe('GET /metrics with API_KEYS', () => {
  const key = 'metrics-key-0123456789abcdef';
  let server: LiveServer;
  beforeAll(async () => {
    server = await startServer({ apiKeys: [key] });
  });
  afterAll(() => server.close());

  it('needs one of the keys, as writes do, with the contract\'s JSON errors', async () => {
    const none = await call(server.base, 'GET', '/metrics');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(none.body).toEqual({ code: 'UNAUTHORIZED', message: '/metrics needs an API key: Authorization: Bearer <key>' });
    const wrong = await call(server.base, 'GET', '/metrics', undefined, { authorization: 'Bearer not-a-key-of-this-server' });
    expect(wrong.status).toBe(403);
    expect(wrong.body).toMatchObject({ code: 'FORBIDDEN' });
    const right = await scrape(server.base, { authorization: `Bearer ${key}` });
    expect(right.status).toBe(200);
    expect(right.types.get('catalog_http_requests_total')).toBe('counter');
    // The refused scrapes were counted like any request.
    expect(valueOf(right, 'catalog_http_requests_total', { route: '/metrics', method: 'GET', status: '401' })).toBe(1);
  });

  it('answers other methods with 405 and Allow, in the contract\'s JSON', async () => {
    const post = await call(server.base, 'POST', '/metrics', {}, { authorization: `Bearer ${key}` });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect(post.body).toMatchObject({ code: 'METHOD_NOT_SUPPORTED' });
  });
});

describe('GET /metrics when the workers cannot be gathered', () => {
  let server: LiveServer;
  beforeAll(async () => {
    // As a worker whose primary does not answer: the gathering fails.
    server = await startServer({ metrics: () => () => Promise.reject(new Error('the primary did not answer')) });
  });
  afterAll(() => server.close());

  it("answers 503 in the contract's JSON, never a partial sum", async () => {
    const response = await call(server.base, 'GET', '/metrics');
    expect(response.status).toBe(503);
    expect(response.body).toEqual({ code: 'SERVICE_UNAVAILABLE', message: "The workers' metrics could not be gathered; try again shortly" });
  });
});

describe("each replica's lag and state", () => {
  const replicas = [
    { name: '10.0.0.2:5432/catalog', state: 'lagging' as const, lagMs: 2_500 },
    { name: '10.0.0.3:5432/catalog', state: 'down' as const, lagMs: null },
  ];

  it('are a lag per replica whose lag is known, and a 0/1 series per state', async () => {
    const registry = new Registry();
    replicaFamilies(registry, () => replicas);
    const { types, samples } = parse(await registry.metrics());
    expect(types.get('catalog_replica_lag_seconds')).toBe('gauge');
    expect(samples.filter((sample) => sample.name === 'catalog_replica_lag_seconds')).toEqual([
      { name: 'catalog_replica_lag_seconds', labels: { replica: '10.0.0.2:5432/catalog' }, value: 2.5 },
    ]);
    const states = (replica: string): Record<string, number> =>
      Object.fromEntries(samples.filter((s) => s.name === 'catalog_replica_state' && s.labels.replica === replica).map((s): [string, number] => [s.labels.state!, s.value]));
    expect(states('10.0.0.2:5432/catalog')).toEqual({ healthy: 0, lagging: 1, down: 0 });
    expect(states('10.0.0.3:5432/catalog')).toEqual({ healthy: 0, lagging: 0, down: 1 });
  });

  it('aggregate over workers as the worst lag and the share of workers that see each state', async () => {
    const [one, two] = [new Registry(), new Registry()];
    replicaFamilies(one, () => [replicas[0]!]);
    replicaFamilies(two, () => [{ name: '10.0.0.2:5432/catalog', state: 'healthy', lagMs: 500 }]);
    const aggregated = AggregatorRegistry.aggregate([await one.getMetricsAsJSON(), await two.getMetricsAsJSON()]);
    const parsed = parse(await aggregated.metrics());
    expect(valueOf(parsed, 'catalog_replica_lag_seconds', { replica: '10.0.0.2:5432/catalog' })).toBe(2.5);
    expect(valueOf(parsed, 'catalog_replica_state', { replica: '10.0.0.2:5432/catalog', state: 'healthy' })).toBe(0.5);
    expect(valueOf(parsed, 'catalog_replica_state', { replica: '10.0.0.2:5432/catalog', state: 'lagging' })).toBe(0.5);
    expect(valueOf(parsed, 'catalog_replica_state', { replica: '10.0.0.2:5432/catalog', state: 'down' })).toBe(0);
  });
});

/** A GET on a connection of its own (no keep-alive), so the cluster's round robin spreads them over the workers. */
function getAlone(base: string, path: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { agent: false, headers: { connection: 'close' } }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Waits (at most 120 s: three processes start under tsx, perhaps on busy cores) until a scrape answers for `workers`
 * processes: /health answers as soon as one worker listens, and a worker still starting is in no sum yet.
 */
async function untilWorkers(base: string, workers: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const answer = await getAlone(base, '/metrics').catch(() => undefined);
    if (answer?.status === 200 && valueOf(parse(answer.text), 'catalog_processes') === workers) return;
    if (Date.now() > deadline) throw new Error(`no scrape covered ${workers} workers within 120 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('GET /metrics with WORKERS=2', () => {
  let server: SpawnedServer;
  beforeAll(async () => {
    server = await spawnServer({ WORKERS: '2' });
    await untilWorkers(server.base, 2);
  }, 240_000);
  afterAll(() => server.stop());

  it('sums every family over both workers, whichever worker answers', async () => {
    const requests = 20;
    for (let i = 0; i < requests; i += 1) expect((await getAlone(server.base, `/categories/${900_000 + i}`)).status).toBe(404);
    for (let i = 0; i < 4; i += 1) {
      const { status, text } = await getAlone(server.base, '/metrics');
      expect(status).toBe(200);
      const scraped = parse(text);
      expect(valueOf(scraped, 'catalog_processes')).toBe(2);
      // Only this test calls this route: exactly N, summed over the workers that each served some.
      expect(valueOf(scraped, 'catalog_http_requests_total', { route: '/categories/:id', method: 'GET', status: '404' })).toBe(requests);
      const all = scraped.samples.filter((sample) => sample.name === 'catalog_http_requests_total').reduce((sum, sample) => sum + sample.value, 0);
      expect(all).toBeGreaterThanOrEqual(requests);
      expect(valueOf(scraped, 'catalog_http_request_duration_seconds_count', { route: '/categories/:id', method: 'GET' })).toBe(requests);
      // Pools add up: two workers, each with its own control connection.
      expect(valueOf(scraped, 'catalog_db_pool_connections_max', { pool: 'control' })).toBe(2);
      expect(scraped.types.get('catalog_reservations')).toBe('gauge');
    }
  }, 120_000);
});
