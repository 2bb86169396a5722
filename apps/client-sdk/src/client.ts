/**
 * The typed catalog client: tRPC's `httpBatchLink` pointed at `${url}/trpc`, so calls made in the same tick
 * share one request. Its type is written here from the router's procedures, not taken from @trpc/client's
 * declarations, which name DOM-only types (`RequestInfo`) that a Node project without `lib: ["dom"]` cannot
 * compile without `skipLibCheck`.
 */
import type { AppRouter } from '@tradeos/api';
import { createTRPCClient, httpBatchLink } from '@trpc/client';
import type { TRPCBuiltRouter, TRPCMutationProcedure, TRPCQueryProcedure, TRPCRouterRecord } from '@trpc/server';
import { contractErrorLink } from './errors.js';

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
}

/** Per-call options: an `AbortSignal` to cancel the call. */
export interface CallOptions {
  signal?: AbortSignal;
}

type Query<I, O> = { query: (input: I, options?: CallOptions) => Promise<O> };
type Mutation<I, O> = { mutate: (input: I, options?: CallOptions) => Promise<O> };

/** Each procedure of a router's record as `.query()` (reads) or `.mutate()` (writes), each sub-router as a namespace. */
type Client<R extends TRPCRouterRecord> = {
  [K in keyof R]: R[K] extends TRPCQueryProcedure<infer D>
    ? Query<D['input'], D['output']>
    : R[K] extends TRPCMutationProcedure<infer D>
      ? Mutation<D['input'], D['output']>
      : R[K] extends TRPCRouterRecord
        ? Client<R[K]>
        : never;
};

export type CatalogClient = AppRouter extends TRPCBuiltRouter<infer _Root, infer Record> ? Client<Record> : never;

// Batched queries travel in the URL; past this length tRPC splits the batch rather than risk a 414.
const MAX_URL_LENGTH = 2_083;

export function createCatalogClient({ url, fetch, headers }: CatalogClientOptions): CatalogClient {
  return createTRPCClient<AppRouter>({
    links: [contractErrorLink, httpBatchLink({ url: `${url.replace(/\/+$/, '')}/trpc`, fetch, headers, maxURLLength: MAX_URL_LENGTH })],
  });
}
