/**
 * The typed catalog client: tRPC's `httpBatchLink` pointed at `${url}/trpc`, so every procedure's input
 * and output type comes from the server's own router and calls made in the same tick share one request.
 */
import type { AppRouter } from '@tradeos/api';
import { createTRPCClient, httpBatchLink, type HTTPHeaders, type TRPCClient } from '@trpc/client';
import { contractErrorLink } from './errors.js';

/** Headers sent with every request: fixed, or computed per request (a rotating API key, a request id). */
export type CatalogHeaders = HTTPHeaders | (() => HTTPHeaders | Promise<HTTPHeaders>);

export interface CatalogClientOptions {
  /** The server's base URL, such as `http://127.0.0.1:8000`; a trailing slash is ignored. */
  url: string;
  /** The `fetch` to use instead of the global one (a proxy, retries, instrumentation in tests). */
  fetch?: typeof globalThis.fetch;
  headers?: CatalogHeaders;
}

export type CatalogClient = TRPCClient<AppRouter>;

// Batched queries travel in the URL; past this length tRPC splits the batch rather than risk a 414.
const MAX_URL_LENGTH = 2_083;

export function createCatalogClient({ url, fetch, headers }: CatalogClientOptions): CatalogClient {
  return createTRPCClient<AppRouter>({
    links: [
      contractErrorLink,
      httpBatchLink({ url: `${url.replace(/\/+$/, '')}/trpc`, fetch, headers, maxURLLength: MAX_URL_LENGTH }),
    ],
  });
}
