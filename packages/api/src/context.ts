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
}

export function createContext(options: { store: CatalogStore; requestId: string; log?: Logger; signal?: AbortSignal }): Context {
  return { store: options.store, requestId: options.requestId, log: options.log ?? { error: () => undefined }, signal: options.signal };
}
