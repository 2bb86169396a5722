import type { CatalogStore } from './store.js';

export interface Logger {
  error(details: object, message: string): void;
}

export interface Context {
  store: CatalogStore;
  /** The request's X-Request-Id: echoed in 500 bodies so a user's report finds the log line. */
  requestId: string;
  log: Logger;
  /** Aborts when the request's deadline passes or its client goes away; store calls end then. */
  signal?: AbortSignal;
  /** Aborts when the server begins to close: a long poll or a stream stops waiting and answers what it has. */
  closing?: AbortSignal;
  /** Contract v1.2: the request's `Idempotency-Key` header, as sent (checked by the operations that take one). */
  idempotencyKey?: string;
  /** Whose keys these are: a digest of the caller's API key with write protection on, else one shared scope. */
  scope: string;
  /** Told when a keyed write replayed its stored response instead of running (REST sends `Idempotent-Replayed`). */
  onReplay?: () => void;
}

export function createContext(options: {
  store: CatalogStore;
  requestId: string;
  log?: Logger;
  signal?: AbortSignal;
  closing?: AbortSignal;
  idempotencyKey?: string;
  scope?: string;
  onReplay?: () => void;
}): Context {
  return {
    store: options.store,
    requestId: options.requestId,
    log: options.log ?? { error: () => undefined },
    signal: options.signal,
    closing: options.closing,
    idempotencyKey: options.idempotencyKey,
    scope: options.scope ?? 'public',
    onReplay: options.onReplay,
  };
}
