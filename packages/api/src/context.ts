import type { Database } from '@tradeos/db';

export interface Logger {
  error(details: object, message: string): void;
}

export interface Context {
  db: Database;
  /** The request's X-Request-Id: echoed in 500 bodies so a user's report finds the log line. */
  requestId: string;
  log: Logger;
}

export function createContext(options: { db: Database; requestId: string; log?: Logger }): Context {
  return { db: options.db, requestId: options.requestId, log: options.log ?? { error: () => undefined } };
}
