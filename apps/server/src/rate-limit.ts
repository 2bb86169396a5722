/**
 * The rate limit: a fixed window of hits per client IP, kept in one store that every process serving the
 * API reaches (this process, the cluster primary, or Redis), with each call of a tRPC batch counted.
 */
import type { Cluster } from 'node:cluster';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Redis } from 'ioredis';

export interface Window {
  /** Hits in the current window, this one included. */
  total: number;
  /** Milliseconds until the window ends. */
  resetMs: number;
}

export interface RateLimitStore {
  /** Adds `weight` hits for `key` and answers the window as it now stands. */
  hit(key: string, weight: number): Promise<Window>;
  close(): Promise<void>;
}

/** One process's windows in memory: the store for a single process and the cluster primary's. */
export class MemoryStore implements RateLimitStore {
  private readonly windows = new Map<string, { total: number; endsAt: number }>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly windowMs: number) {
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const [key, window] of this.windows) if (window.endsAt <= now) this.windows.delete(key);
    }, windowMs);
    this.sweeper.unref();
  }

  hit(key: string, weight: number): Promise<Window> {
    const now = Date.now();
    let window = this.windows.get(key);
    if (!window || window.endsAt <= now) {
      window = { total: 0, endsAt: now + this.windowMs };
      this.windows.set(key, window);
    }
    window.total += weight;
    return Promise.resolve({ total: window.total, resetMs: window.endsAt - now });
  }

  close(): Promise<void> {
    clearInterval(this.sweeper);
    return Promise.resolve();
  }
}

interface HitMessage {
  kind: 'rate-limit:hit';
  id: string;
  key: string;
  weight: number;
}
interface WindowMessage extends Window {
  kind: 'rate-limit:window';
  id: string;
}

/** In the cluster primary: keeps every worker's windows in one MemoryStore and answers their hits. */
export function serveRateLimitToWorkers(cluster: Cluster, windowMs: number): void {
  const store = new MemoryStore(windowMs);
  cluster.on('message', (worker, message: Partial<HitMessage>) => {
    if (message.kind !== 'rate-limit:hit' || !message.id || !message.key) return;
    const { id } = message;
    void store.hit(message.key, message.weight ?? 1).then((window) => {
      if (worker.isConnected()) worker.send({ kind: 'rate-limit:window', id, ...window } satisfies WindowMessage);
    });
  });
}

/** In a cluster worker: asks the primary, so WORKERS=N share one limit per client. */
export class ClusterStore implements RateLimitStore {
  private readonly pending = new Map<string, (window: Window) => void>();
  private readonly onMessage = (message: Partial<WindowMessage>) => {
    if (message.kind !== 'rate-limit:window' || !message.id) return;
    this.pending.get(message.id)?.({ total: message.total ?? 0, resetMs: message.resetMs ?? 0 });
    this.pending.delete(message.id);
  };

  constructor(private readonly channel: NodeJS.Process = process) {
    channel.on('message', this.onMessage);
  }

  hit(key: string, weight: number): Promise<Window> {
    const id = randomUUID();
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.channel.send?.({ kind: 'rate-limit:hit', id, key, weight } satisfies HitMessage);
    });
  }

  close(): Promise<void> {
    this.channel.off('message', this.onMessage);
    return Promise.resolve();
  }
}

// Adds the hits and starts the window on the first one, atomically: one round trip per request.
const HIT_SCRIPT = `
local total = redis.call('INCRBY', KEYS[1], ARGV[1])
if total == tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return { total, redis.call('PTTL', KEYS[1]) }`;

/** In Redis: one limit per client across every instance that points at the same REDIS_URL. */
export class RedisStore implements RateLimitStore {
  private readonly redis: Redis;

  constructor(
    url: string,
    private readonly windowMs: number,
    private readonly prefix = 'catalog:rate-limit:',
  ) {
    // A request waits at most half a second for Redis; past that it is served uncounted (see registerRateLimit).
    this.redis = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 2_000, commandTimeout: 500 });
    this.redis.on('error', () => undefined);
  }

  async hit(key: string, weight: number): Promise<Window> {
    const [total, ttl] = (await this.redis.eval(HIT_SCRIPT, 1, `${this.prefix}${key}`, weight, this.windowMs)) as [number, number];
    return { total, resetMs: ttl > 0 ? ttl : this.windowMs };
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

export interface RateLimitOptions {
  max: number;
  store: RateLimitStore;
  /** How many calls a request makes: 1, or the number of procedures in a tRPC batch. */
  weigh: (request: FastifyRequest) => number;
}

const TOO_MANY = { code: 'TOO_MANY_REQUESTS', message: 'Too many requests; retry after the number of seconds in Retry-After' };

/**
 * Counts every request but /health against its client's window; past `max` the answer is 429 with
 * Retry-After. If the store cannot answer (Redis down), the request is served and the fault logged: an
 * unreachable limiter must not take the catalog down with it.
 */
export function registerRateLimit(app: FastifyInstance, { max, store, weigh }: RateLimitOptions): void {
  app.addHook('onClose', () => store.close());
  app.addHook('onRequest', async (request, reply) => {
    if (request.url === '/health') return;
    let window: Window;
    try {
      window = await store.hit(request.ip, weigh(request));
    } catch (error) {
      request.log.warn({ err: error }, 'rate limit store unavailable; request not counted');
      return;
    }
    const resetSeconds = Math.max(1, Math.ceil(window.resetMs / 1000));
    void reply.header('x-ratelimit-limit', max).header('x-ratelimit-remaining', Math.max(0, max - window.total)).header('x-ratelimit-reset', resetSeconds);
    if (window.total > max) return reply.code(429).header('retry-after', resetSeconds).send(TOO_MANY);
  });
}
