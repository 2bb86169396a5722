/**
 * The typed catalog client: tRPC's `httpBatchLink` pointed at `${url}/trpc`, so calls made in the same tick
 * share one request. Its type is written here from the router's procedures, not taken from @trpc/client's
 * declarations, which name DOM-only types (`RequestInfo`) that a Node project without `lib: ["dom"]` cannot
 * compile without `skipLibCheck`.
 */
import type { AppRouter } from '@tradeos/api';
import { createTRPCClient, httpBatchLink, httpLink, httpSubscriptionLink, splitLink, type TRPCLink } from '@trpc/client';
import type { TrackedEnvelope, TRPCBuiltRouter, TRPCMutationProcedure, TRPCQueryProcedure, TRPCRouterRecord, TRPCSubscriptionProcedure } from '@trpc/server';
import { contractErrorLink, type CatalogClientError } from './errors.js';
import { positionedFetch } from './positions.js';

/** Header values sent with every request. */
export type CatalogHeaderValues = Record<string, string | string[] | undefined>;

/** Headers sent with every request: fixed, or computed per request (a rotating API key, a request id). */
export type CatalogHeaders = CatalogHeaderValues | (() => CatalogHeaderValues | Promise<CatalogHeaderValues>);

export interface CatalogClientOptions {
  /** The server's base URL, such as `http://127.0.0.1:8000`; a trailing slash is ignored. */
  url: string;
  /** The `fetch` to use instead of the global one (a proxy, retries, instrumentation in tests). */
  fetch?: typeof globalThis.fetch;
  headers?: CatalogHeaders;
  /**
   * `'auto'`: every write sent without an idempotency key gets a fresh one (a UUID), so a retry of that very request
   * (a retrying `fetch`, a proxy) can never create twice. Default: keys only where a call passes one.
   */
  idempotencyKeys?: 'auto';
  /**
   * The `EventSource` class subscriptions (`events.onChange`) use. Browsers, Deno, Bun and Node 22+ have a global
   * one; Node 20 does not: install the `eventsource` package and pass its class (`import { EventSource } from
   * 'eventsource'`). Reads and writes never need it.
   */
  EventSource?: EventSourceClass;
}

/** What the SDK needs of an `EventSource` class (the WHATWG one, or the `eventsource` package's). */
export type EventSourceClass = new (
  url: string,
  init?: { withCredentials?: boolean },
) => {
  readonly CLOSED: number;
  readonly CONNECTING: number;
  readonly OPEN: number;
  readonly readyState: number;
  close(): void;
  addEventListener(type: string, listener: (event: { data?: unknown }) => void): void;
  removeEventListener(type: string, listener: (event: { data?: unknown }) => void): void;
};

/** What a subscription's callbacks receive: `onData` gets each value (with its `id` when the server tracks one). */
export interface SubscriptionHandlers<T> {
  onStarted?: () => void;
  onData: (value: T) => void;
  /** The subscription failed for good (a 410 GONE, a 422); transient drops are retried from the last id by itself. */
  onError?: (error: CatalogClientError) => void;
  onComplete?: () => void;
  signal?: AbortSignal;
}

/** Per-call options: an `AbortSignal` to cancel the call. */
export interface CallOptions {
  signal?: AbortSignal;
}

/** Per-call options of a write. */
export interface MutationOptions extends CallOptions {
  /**
   * `idempotencyKey` (1–255 printable ASCII characters) is sent as the `Idempotency-Key` header: the creates (a reservation's
   * included) and the bulk upsert then run once per key, and a repeat gets the first answer back. Use one key per logical operation.
   */
  context?: { idempotencyKey?: string };
}

type Query<I, O> = { query: (input: I, options?: CallOptions) => Promise<O> };
type Mutation<I, O> = { mutate: (input: I, options?: MutationOptions) => Promise<O> };
/** A value the server yields: a tracked one arrives as `{ id, data }`, its id what a reconnect resumes after. */
type Yielded<O> = O extends AsyncIterable<infer Y> ? (Y extends TrackedEnvelope<infer T> ? { id: string; data: T } : Y) : O;
type Subscription<I, O> = { subscribe: (input: I, handlers: SubscriptionHandlers<Yielded<O>>) => { unsubscribe: () => void } };

/** Each procedure of a router's record as `.query()` (reads) or `.mutate()` (writes), each sub-router as a namespace. */
type Client<R extends TRPCRouterRecord> = {
  [K in keyof R]: R[K] extends TRPCQueryProcedure<infer D>
    ? Query<D['input'], D['output']>
    : R[K] extends TRPCMutationProcedure<infer D>
      ? Mutation<D['input'], D['output']>
      : R[K] extends TRPCSubscriptionProcedure<infer D>
        ? Subscription<D['input'], D['output']>
      : R[K] extends TRPCRouterRecord
        ? Client<R[K]>
        : never;
};

export type CatalogClient = AppRouter extends TRPCBuiltRouter<infer _Root, infer Record> ? Client<Record> : never;

// Batched queries travel in the URL; past this length tRPC splits the batch rather than risk a 414.
const MAX_URL_LENGTH = 2_083;

const keyOf = (context: Record<string, unknown>): string | undefined =>
  typeof context.idempotencyKey === 'string' ? context.idempotencyKey : undefined;

/** With `idempotencyKeys: 'auto'`, gives every write without a key one of its own. */
const autoKeyLink: TRPCLink<AppRouter> =
  () =>
  ({ op, next }) =>
    next(op.type === 'mutation' && keyOf(op.context) === undefined ? { ...op, context: { ...op.context, idempotencyKey: globalThis.crypto.randomUUID() } } : op);

/**
 * The `url` option checked before anything uses it: a JavaScript caller (or an unset environment variable behind
 * it) gets an error naming the option, not a TypeError from inside the SDK.
 */
function baseUrl(url: unknown): string {
  const example = 'the server\'s base URL, such as "http://127.0.0.1:8000"';
  if (typeof url !== 'string' || url === '') {
    throw new TypeError(`createCatalogClient: the "url" option is required: ${example} (got ${url === '' ? 'an empty string' : String(url)})`);
  }
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
    throw new TypeError(`createCatalogClient: the "url" option must be an http:// or https:// URL: ${example} (got ${JSON.stringify(url)})`);
  }
  return url.replace(/\/+$/, '');
}

export function createCatalogClient({ url, fetch, headers, idempotencyKeys, EventSource }: CatalogClientOptions): CatalogClient {
  const endpoint = `${baseUrl(url)}/trpc`;
  const common = async () => (typeof headers === 'function' ? await headers() : (headers ?? {}));
  // Contract v1.3: reads carry the highest position this client has seen (writes go to the primary anyway).
  const positioned = positionedFetch(fetch);
  return createTRPCClient<AppRouter>({
    links: [
      contractErrorLink,
      ...(idempotencyKeys === 'auto' ? [autoKeyLink] : []),
      splitLink({
        condition: (op) => op.type === 'subscription',
        // Subscriptions as Server-Sent Events: on a drop, EventSource reconnects and resumes after the last id it got.
        true: httpSubscriptionLink({ url: endpoint, EventSource }),
        // A key is a header of its own request: keyed writes travel alone, everything else in batches.
        false: splitLink({
          condition: (op) => keyOf(op.context) !== undefined,
          true: httpLink({ url: endpoint, fetch: positioned, headers: async ({ op }) => ({ ...(await common()), 'idempotency-key': keyOf(op.context) }) }),
          false: httpBatchLink({ url: endpoint, fetch: positioned, headers, maxURLLength: MAX_URL_LENGTH }),
        }),
      }),
    ],
  });
}
