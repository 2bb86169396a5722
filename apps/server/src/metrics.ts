/**
 * `GET /metrics` (contract v1.3, what operators watch), in Prometheus's text format through prom-client. Each process
 * keeps a registry of its own: its requests, latencies, pools, replicas as it sees them, the feed's delay and open
 * streams, and Node's default metrics. With WORKERS the answer is every worker's, aggregated by the primary
 * (`cluster-metrics.ts`), each family by the rule chosen where it is declared: counts add up, a lag is the worst one
 * seen, a replica's state is the share of workers that see it so. Reservations by state are a fact of the database,
 * not of a process: the process that answers counts them once per scrape, and they are not aggregated.
 */
import { ERRORS, operations, type Operation } from '@tradeos/contract';
import { within, type ChangeFeed, type Database, type ReplicaStatus } from '@tradeos/db';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { requireKey } from './auth.js';
import { processMetrics, type GatherMetrics } from './cluster-metrics.js';
import { trpcHolds } from './trpc.js';

/** Seconds; a hot read takes about a millisecond, the request timeout is 15 s by default. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15];
/** A read of the database at scrape time waits at most this long (a pool slot included); past it its family is stale or left out. */
const SCRAPE_READ_MS = 1_000;
/** The route label of every request no route matched: one series, whatever paths are tried. */
const UNMATCHED = 'unmatched';
const REPLICA_STATES: ReplicaStatus['state'][] = ['healthy', 'lagging', 'down'];
const RESERVATION_STATES = ['active', 'committed', 'released', 'expired'] as const;
/** The routes of the contract's event streams (`/events/stream`), as Fastify names them. */
const STREAM_ROUTES = new Set(
  Object.values(operations as Record<string, Operation>)
    .filter((operation) => operation.stream)
    .map((operation) => operation.path.replace(/\{(\w+)\}/g, ':$1')),
);

export interface MetricsOptions {
  db: Database;
  feed: ChangeFeed;
  /** With keys, `/metrics` needs one of them, as writes do. */
  apiKeys: string[];
  /** How a scrape's text is gathered: this process's registry (default), or every worker's through the primary. */
  gather?: GatherMetrics;
}

export interface Metrics {
  /** Registers `GET /metrics`, with the other routes (routes.ts). */
  route: (api: FastifyInstance) => void;
}

let nodeMetrics: Registry | undefined;

/**
 * Node's default metrics (CPU, memory, event loop lag, GC), collected once per process and shared by every app it
 * builds (tests build many): each collection starts monitors that are never stopped.
 */
function nodeRegistry(): Registry {
  if (!nodeMetrics) {
    nodeMetrics = new Registry();
    collectDefaultMetrics({ register: nodeMetrics });
  }
  return nodeMetrics;
}

/** A one-statement read at scrape time: undefined when it fails or takes longer than SCRAPE_READ_MS (then cancelled). */
function scrapeRead<T>(db: Database, sql: string, binds: unknown[]): Promise<T[] | undefined> {
  const read = db.query<T>(sql, binds, AbortSignal.timeout(SCRAPE_READ_MS)).catch(() => undefined);
  return within(read, SCRAPE_READ_MS, undefined);
}

/** Each pool's connections in use, idle, waiting and its maximum; summed over workers, they are the instance's. */
function poolFamilies(registry: Registry, db: Database): void {
  const families = [
    ['catalog_db_pool_connections_in_use', 'Connections lent out, by pool', 'inUse'],
    ['catalog_db_pool_connections_idle', 'Open connections waiting in the pool, by pool', 'idle'],
    ['catalog_db_pool_waiting', 'Callers waiting for a connection, by pool', 'waiting'],
    ['catalog_db_pool_connections_max', 'The most connections the pool opens, by pool', 'max'],
  ] as const;
  for (const [name, help, field] of families) {
    new Gauge({
      name,
      help,
      labelNames: ['pool'],
      registers: [registry],
      aggregator: 'sum',
      collect() {
        this.reset();
        for (const stats of db.pools()) this.set({ pool: stats.pool }, stats[field]);
      },
    });
  }
}

/**
 * Each replica's lag (the worst any worker saw) and state (1 for the state this process sees; over workers, the share
 * that see it so). Exported for its test, which hands it a list of its own.
 */
export function replicaFamilies(registry: Registry, replicas: () => ReplicaStatus[]): void {
  new Gauge({
    name: 'catalog_replica_lag_seconds',
    help: 'How far the replica is behind the primary, as the off-request poller last measured it (absent while unknown)',
    labelNames: ['replica'],
    registers: [registry],
    aggregator: 'max',
    collect() {
      this.reset();
      for (const { name, lagMs } of replicas()) if (lagMs !== null) this.set({ replica: name }, lagMs / 1000);
    },
  });
  new Gauge({
    name: 'catalog_replica_state',
    help: 'The replica\'s state: 1 for the state it is in (healthy replicas get reads); with WORKERS, the share of workers that see it in that state',
    labelNames: ['replica', 'state'],
    registers: [registry],
    aggregator: 'average',
    collect() {
      this.reset();
      for (const { name, state } of replicas()) for (const each of REPLICA_STATES) this.set({ replica: name, state: each }, each === state ? 1 : 0);
    },
  });
}

/** The feed: how long the oldest committed event this process has not handed out yet has waited, and its open streams. */
function feedFamilies(registry: Registry, db: Database, feed: ChangeFeed): Gauge<'transport'> {
  new Gauge({
    name: 'catalog_feed_delay_seconds',
    help: 'Age (from its transaction\'s start) of the oldest committed event past the feed\'s horizon, not yet handed to readers; 0 when none waits. With WORKERS, the largest',
    registers: [registry],
    aggregator: 'max',
    // One probe of the events' primary key. On failure the last value stays.
    async collect() {
      const rows = await scrapeRead<{ age: number }>(
        db,
        'SELECT extract(epoch FROM clock_timestamp() - occurred_at)::float8 AS age FROM events WHERE id > $1 ORDER BY id LIMIT 1',
        [feed.horizon],
      );
      if (rows) this.set(Math.max(0, rows[0]?.age ?? 0));
    },
  });
  const streams = new Gauge({
    name: 'catalog_feed_open_streams',
    help: 'Event streams open now: GET /events/stream (sse) and tRPC subscriptions (trpc)',
    labelNames: ['transport'],
    registers: [registry],
    aggregator: 'sum',
  });
  // Both series from the start: an alert on a series that does not exist yet never fires.
  for (const transport of ['sse', 'trpc']) streams.set({ transport }, 0);
  return streams;
}

/** The database's reservations by the state a client sees (an active one past its expiry is expired), counted at scrape time. */
function reservationFamily(registry: Registry, db: Database): void {
  new Gauge({
    name: 'catalog_reservations',
    help: 'Reservations by state, as a client sees them (counted on the primary at scrape time; absent when the count failed)',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      this.reset();
      const rows = await scrapeRead<{ state: string; n: number }>(
        db,
        "SELECT CASE WHEN state = 'active' AND expires_at <= now() THEN 'expired' ELSE state END AS state, count(*)::float8 AS n FROM reservations GROUP BY 1",
        [],
      );
      if (!rows) return;
      for (const state of RESERVATION_STATES) this.set({ state }, rows.find((row) => row.state === state)?.n ?? 0);
    },
  });
}

/** Which kind of event stream a request opens, if it opens one: the SSE route, or a tRPC call of a subscription. */
function streamOf(request: FastifyRequest): 'sse' | 'trpc' | undefined {
  if (request.method !== 'GET') return undefined;
  const route = request.routeOptions.url;
  if (route === '/trpc/:path') return trpcHolds((request.params as { path: string }).path) === Infinity ? 'trpc' : undefined;
  return route !== undefined && STREAM_ROUTES.has(route) ? 'sse' : undefined;
}

/** Counts every answered request by its route's pattern (never the raw URL), method and status; times all but streams. */
function countRequests(app: FastifyInstance, registry: Registry, streams: Gauge<'transport'>): void {
  const requests = new Counter({
    name: 'catalog_http_requests_total',
    help: `Requests answered, by route pattern ("${UNMATCHED}": no route), method and status`,
    labelNames: ['route', 'method', 'status'],
    registers: [registry],
    aggregator: 'sum',
  });
  const latency = new Histogram({
    name: 'catalog_http_request_duration_seconds',
    help: 'Time from a request\'s arrival to its answer, by route pattern and method (event streams left out)',
    labelNames: ['route', 'method'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
    aggregator: 'sum',
  });
  app.addHook('onRequest', (request, reply, done) => {
    const transport = streamOf(request);
    if (transport) {
      streams.inc({ transport });
      reply.raw.once('close', () => streams.dec({ transport }));
    }
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? UNMATCHED;
    requests.inc({ route, method: request.method, status: String(reply.statusCode) });
    if (!streamOf(request)) latency.observe({ route, method: request.method }, reply.elapsedTime / 1000);
    done();
  });
}

/** The families, the hooks that count requests, and the route (registered by routes.ts with the others). */
export function registerMetrics(app: FastifyInstance, { db, feed, apiKeys, gather = processMetrics }: MetricsOptions): Metrics {
  const registry = new Registry();
  new Gauge({
    name: 'catalog_processes',
    help: 'Processes whose families this answer holds (WORKERS, or 1)',
    registers: [registry],
    aggregator: 'sum',
    collect() {
      this.set(1);
    },
  });
  poolFamilies(registry, db);
  replicaFamilies(registry, () => db.replicas());
  countRequests(app, registry, feedFamilies(registry, db, feed));
  const database = new Registry();
  reservationFamily(database, db);
  const gathered = gather([nodeRegistry(), registry]);
  const keyCheck = apiKeys.length ? requireKey(apiKeys, '/metrics needs an API key: Authorization: Bearer <key>') : undefined;

  const route = (api: FastifyInstance) => {
    api.get('/metrics', { preHandler: keyCheck }, async (_request, reply: FastifyReply) => {
      let text: string;
      try {
        const [processes, shared] = await Promise.all([gathered(), database.metrics()]);
        text = processes + shared;
      } catch {
        return reply.code(ERRORS.SERVICE_UNAVAILABLE.status).send({ code: 'SERVICE_UNAVAILABLE', message: "The workers' metrics could not be gathered; try again shortly" });
      }
      return reply.code(200).type(registry.contentType).send(text);
    });
  };
  return { route };
}
