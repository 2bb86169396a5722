/**
 * The fault harness's load: keep-alive clients reading, creating, updating, bulk-upserting, reserving stock (then
 * committing or releasing it) and following the feed (long polls and an SSE stream) at once, each writing only what it owns, so that every write's expected effect is
 * known afterwards. Records every answer and every write's outcome; checks happen in `invariants.ts`.
 */
import { randomUUID } from 'node:crypto';

/** One request and what came back: an HTTP answer, or the transport failure instead. */
export interface Answer {
  op: string;
  /** ms since the load started */
  started: number;
  status?: number;
  body?: unknown;
  retryAfter?: string | null;
  requestId?: string | null;
  /** `Idempotent-Replayed: true`: a keyed request's stored answer, given again. */
  replayed?: boolean;
  /** The transport failure (a reset, a refused connection), when there was no answer. */
  failure?: string;
}

/** A keyed POST /products: its body, and the product's id once a 201 acknowledged it. */
export interface Create {
  key: string;
  body: { name: string; price: number; sku: string; category_id: number };
  id?: number;
  /** The 201 came from the retry after recovery (the first attempt's outcome was unknown). */
  retried?: boolean;
}

/** A product one writer owns: the prices PUT on it in order, and the stock deltas (+1 each). */
export interface Owned {
  id: number;
  price: number;
  quantity: number;
  puts: { price: number; acked: boolean }[];
  deltas: { acked: number; unknown: number };
}

/** One POST /products/bulk: updates the writer's shared skus and creates fresh ones, all carrying its tag. */
export interface Bulk {
  tag: string;
  fresh: string[];
  acked: boolean;
}

/**
 * One POST /reservations of one unit of a reserver's stocked product (its key also its `reference`), then a commit
 * or a release of it once acknowledged: `ended` is whether that second call was acknowledged.
 */
export interface Reservation {
  key: string;
  productId: number;
  id?: string;
  action?: 'commit' | 'release';
  ended?: boolean;
}

/** A feed follower's ids, in the order it received them, from `after`. */
export interface Follow {
  after: string;
  ids: string[];
}

export interface History {
  answers: Answer[];
  creates: Create[];
  owned: Owned[];
  /** Per bulk writer: its shared skus and its bulks in order. */
  bulks: { shared: string[]; bulks: Bulk[] }[];
  reservations: Reservation[];
  /** Each reserver's product, stocked with STOCK units. */
  stocked: number[];
  longPoll: Follow;
  stream: Follow;
}

export interface LoadOptions {
  base: string;
  /** Prefix of every sku and key this load writes, unique per load. */
  prefix: string;
  categoryId: number;
  /** The feed's newest event id when the load starts: the followers begin there. */
  after: string;
}

const READERS = 4;
const CREATORS = 3;
const UPDATERS = 2;
const OWNED_PER_UPDATER = 3;
const BULK_WRITERS = 2;
const BULK_SHARED = 90;
const BULK_FRESH = 10;
const RESERVERS = 2;
// Units of each reserver's product: more than a run reserves, so no answer is a shortage.
export const STOCK = 1_000_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)]!;

/** What a failed fetch says about the transport (`ECONNRESET`, `UND_ERR_SOCKET`, …). */
function describeFailure(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? String(error);
}

export class Load {
  readonly history: History;
  private readonly t0 = Date.now();
  private stopping = false;
  private readonly abort = new AbortController();
  private inFlight = 0;
  private workers: Promise<void>[] = [];
  private readonly counters = new Map<string, number>();

  constructor(private readonly options: LoadOptions) {
    this.history = {
      answers: [],
      creates: [],
      owned: [],
      bulks: [],
      reservations: [],
      stocked: [],
      longPoll: { after: options.after, ids: [] },
      stream: { after: options.after, ids: [] },
    };
  }

  /** ms since the load started, the clock of every `Answer.started`. */
  now(): number {
    return Date.now() - this.t0;
  }

  /** Requests sent and not yet answered. */
  pending(): number {
    return this.inFlight;
  }

  /** Acknowledged writes of each kind since `since` (ms on the load's clock). */
  acknowledgedSince(since: number): Record<'create' | 'put' | 'patch' | 'bulk' | 'reserve' | 'end', number> {
    const count = (op: string, status: number) => this.history.answers.filter((a) => a.op === op && a.status === status && a.started >= since).length;
    return {
      create: count('create', 201),
      put: count('put', 200),
      patch: count('patch', 200),
      bulk: count('bulk', 200),
      reserve: count('reserve', 201),
      end: count('commit', 200) + count('release', 200),
    };
  }

  /** Creates the updaters' products (the database must be up), then starts every worker. */
  async start(): Promise<void> {
    for (let i = 0; i < UPDATERS * OWNED_PER_UPDATER; i += 1) {
      const sku = `${this.options.prefix}-own-${i}`;
      const answer = await this.request('setup', 'POST', '/products', { name: `Owned ${sku}`, price: 1, quantity: 0, sku, category_id: this.options.categoryId });
      if (answer.status !== 201) throw new Error(`could not create the owned products: ${JSON.stringify(answer)}`);
      this.history.owned.push({ id: (answer.body as { id: number }).id, price: 1, quantity: 0, puts: [], deltas: { acked: 0, unknown: 0 } });
    }
    for (let i = 0; i < RESERVERS; i += 1) {
      const sku = `${this.options.prefix}-stock-${i}`;
      const answer = await this.request('setup', 'POST', '/products', { name: `Stocked ${sku}`, price: 1, quantity: STOCK, sku, category_id: this.options.categoryId });
      if (answer.status !== 201) throw new Error(`could not create the stocked products: ${JSON.stringify(answer)}`);
      this.history.stocked.push((answer.body as { id: number }).id);
    }
    const loop = (work: () => Promise<void>) => async () => {
      while (!this.stopping) await work();
    };
    const workers = [
      ...Array.from({ length: READERS }, () => loop(() => this.read())),
      ...Array.from({ length: CREATORS }, (_, w) => loop(() => this.create(w))),
      ...Array.from({ length: UPDATERS }, (_, w) => {
        const mine = this.history.owned.slice(w * OWNED_PER_UPDATER, (w + 1) * OWNED_PER_UPDATER);
        return loop(() => this.update(pick(mine)));
      }),
      ...Array.from({ length: BULK_WRITERS }, (_, w) => {
        const writer = { shared: Array.from({ length: BULK_SHARED }, (_, i) => `${this.options.prefix}-b${w}-s${i}`), bulks: [] };
        this.history.bulks.push(writer);
        return loop(() => this.bulk(w, writer));
      }),
      ...this.history.stocked.map((productId, w) => loop(() => this.reserve(w, productId))),
      loop(() => this.longPoll()),
      loop(() => this.follow()),
    ];
    this.workers = workers.map((work) => work());
  }

  /** Stops every worker (waiting requests are abandoned by the client) and waits until all have returned. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.abort.abort();
    await Promise.all(this.workers);
  }

  /**
   * Retries every create whose outcome is unknown with its Idempotency-Key and body, as a client would: it applies
   * at most once, so each answer must be its 201 (replayed when the first attempt had committed).
   */
  async retryUnknownCreates(): Promise<void> {
    const unknown = this.history.creates.filter((c) => c.id === undefined);
    const retry = async () => {
      for (let create = unknown.pop(); create; create = unknown.pop()) {
        const answer = await this.request('retry', 'POST', '/products', create.body, { 'idempotency-key': create.key });
        if (answer.status === 201) {
          create.id = (answer.body as { id: number }).id;
          create.retried = true;
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, retry));
  }

  private next(name: string): number {
    const n = (this.counters.get(name) ?? 0) + 1;
    this.counters.set(name, n);
    return n;
  }

  /** One request on a keep-alive connection; the answer is recorded whatever it is. */
  async request(op: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Answer> {
    const answer: Answer = { op, started: this.now() };
    this.inFlight += 1;
    try {
      const response = await fetch(`${this.options.base}${path}`, {
        method,
        headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), 'x-request-id': randomUUID(), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
      const text = await response.text();
      answer.status = response.status;
      answer.retryAfter = response.headers.get('retry-after');
      answer.requestId = response.headers.get('x-request-id');
      answer.replayed = response.headers.get('idempotent-replayed') === 'true';
      try {
        answer.body = text ? JSON.parse(text) : undefined;
      } catch {
        answer.body = text;
      }
    } catch (error) {
      // Our own abort of a long poll at the end is no failure of the server's.
      if (signal?.aborted) return answer;
      answer.failure = describeFailure(error);
    } finally {
      this.inFlight -= 1;
    }
    this.history.answers.push(answer);
    // A client backs off a little when the service is unavailable, as a real one would, instead of spinning.
    if (answer.status === 503 || answer.failure) await sleep(50);
    return answer;
  }

  private async read(): Promise<void> {
    const owned = pick(this.history.owned);
    const [op, path] = pick([
      ['list', '/products?limit=20'],
      ['byId', `/products/${owned.id}`],
      ['search', `/products/search?q=${encodeURIComponent('Owned')}&limit=10`],
    ]);
    await this.request(op, 'GET', path);
  }

  private async create(worker: number): Promise<void> {
    const n = this.next(`create-${worker}`);
    const key = `${this.options.prefix}-c${worker}-${n}`;
    const create: Create = { key, body: { name: `Created ${key}`, price: n + 0.5, sku: key, category_id: this.options.categoryId } };
    this.history.creates.push(create);
    const answer = await this.request('create', 'POST', '/products', create.body, { 'idempotency-key': key });
    if (answer.status === 201) create.id = (answer.body as { id: number }).id;
  }

  /** A PUT of a fresh price or a +1 stock change, on a product only this worker writes. */
  private async update(owned: Owned): Promise<void> {
    if (Math.random() < 0.5) {
      const price = 1_000 + this.next('price') + 0.25;
      const answer = await this.request('put', 'PUT', `/products/${owned.id}`, { price });
      owned.puts.push({ price, acked: answer.status === 200 });
    } else {
      const answer = await this.request('patch', 'PATCH', `/products/${owned.id}/quantity`, { delta: 1 });
      if (answer.status === 200) owned.deltas.acked += 1;
      else owned.deltas.unknown += 1;
    }
  }

  private async bulk(worker: number, writer: History['bulks'][number]): Promise<void> {
    const k = this.next(`bulk-${worker}`);
    const tag = `${this.options.prefix}-b${worker}-${k}`;
    const bulk: Bulk = { tag, fresh: Array.from({ length: BULK_FRESH }, (_, i) => `${tag}-n${i}`), acked: false };
    writer.bulks.push(bulk);
    // Every item stays in the load's one category: moving products between categories is another fix's business.
    const items = [...writer.shared, ...bulk.fresh].map((sku) => ({
      sku,
      name: `Bulk ${sku}`,
      price: k + 0.75,
      description: tag,
      category_id: this.options.categoryId,
    }));
    const answer = await this.request('bulk', 'POST', '/products/bulk', { items }, { 'idempotency-key': tag });
    bulk.acked = answer.status === 200;
  }

  /** Reserves one unit (keyed), then commits or releases the reservation once it was acknowledged. */
  private async reserve(worker: number, productId: number): Promise<void> {
    const key = `${this.options.prefix}-r${worker}-${this.next(`reserve-${worker}`)}`;
    const reservation: Reservation = { key, productId };
    this.history.reservations.push(reservation);
    const body = { items: [{ product_id: productId, quantity: 1 }], ttl_seconds: 3_600, reference: key };
    const created = await this.request('reserve', 'POST', '/reservations', body, { 'idempotency-key': key });
    if (created.status !== 201) return;
    reservation.id = (created.body as { id: string }).id;
    reservation.action = Math.random() < 0.5 ? 'commit' : 'release';
    const ended = await this.request(reservation.action, 'POST', `/reservations/${reservation.id}/${reservation.action}`);
    reservation.ended = ended.status === 200;
  }

  /** Follows the feed by long polls, chaining `next_after`. */
  private async longPoll(): Promise<void> {
    const follow = this.history.longPoll;
    const after = follow.ids.at(-1) ?? follow.after;
    const answer = await this.request('poll', 'GET', `/events?after=${after}&wait=5&limit=1000`, undefined, {}, this.abort.signal);
    if (answer.status === 200) follow.ids.push(...(answer.body as { items: { id: string }[] }).items.map((event) => event.id));
    else if (!this.stopping) await sleep(100);
  }

  /** Follows the feed by its SSE stream, resuming from the last id it received whenever the stream ends. */
  private async follow(): Promise<void> {
    const follow = this.history.stream;
    const answer: Answer = { op: 'stream', started: this.now() };
    this.inFlight += 1;
    try {
      const response = await fetch(`${this.options.base}/events/stream`, {
        headers: { 'last-event-id': follow.ids.at(-1) ?? follow.after, 'x-request-id': randomUUID() },
        signal: this.abort.signal,
      });
      answer.status = response.status;
      answer.requestId = response.headers.get('x-request-id');
      if (response.status !== 200) {
        answer.body = await response.json();
      } else {
        let buffer = '';
        const decoder = new TextDecoder();
        for await (const chunk of response.body! as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          const messages = buffer.split('\n\n');
          buffer = messages.pop()!;
          for (const message of messages) {
            const id = /^id: (\d+)$/m.exec(message)?.[1];
            if (id) follow.ids.push(id);
          }
        }
      }
    } catch (error) {
      if (!this.abort.signal.aborted) answer.failure = describeFailure(error);
    } finally {
      this.inFlight -= 1;
    }
    this.history.answers.push(answer);
    if (answer.status !== 200 && !this.stopping) await sleep(100);
  }
}
