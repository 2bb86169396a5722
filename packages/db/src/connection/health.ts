/**
 * Whether the database answers, as this handle last learned it: from the outcome of each call (`report`) and from
 * health checks on the control connection (`ping`); listeners hear each change, not each repeat.
 */
import type pg from 'pg';
import { DataError, describeDatabaseError, isConnectionError, isPoolWait } from '../errors.js';
import { SessionClient } from './clients.js';

/** Whether the database answers, and why not when it does not (no secrets: the URL's password is masked). */
export type Availability = { available: true } | { available: false; cause: string };

/** `work`'s result, or `fallback` once `timeoutMs` has passed without one. */
export async function within<T>(work: Promise<T>, timeoutMs: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback), timeoutMs)));
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The error text with the URLs' passwords masked, for logs. */
function masked(urls: string[], error: unknown): string {
  let text = describeDatabaseError(error);
  for (const url of urls) {
    const password = decodeURIComponent(new URL(url).password);
    if (password) text = text.split(password).join('***');
  }
  return text;
}

/** Resolves once a client could log in to the pooler at `url` (it needs no server connection for that); rejects otherwise. */
async function reachPooler(url: string, timeoutMs: number): Promise<void> {
  const client = new SessionClient({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  try {
    await client.connect();
  } finally {
    await client.end().catch(() => undefined);
  }
}

export class Health {
  private availability: Availability | undefined;
  private readonly listeners = new Set<(availability: Availability) => void>();

  /**
   * `control` reaches the database itself: behind a transaction pooler (`url` is the pooler, `directUrl` the database
   * past it) a ping asks the database, and the pooler only whether it lets a client in: a pooler whose server
   * connections are all busy is busy, not down.
   */
  constructor(
    private readonly url: string,
    private readonly control: pg.Pool,
    private readonly directUrl?: string,
  ) {}

  private masked(error: unknown): string {
    return masked(this.directUrl ? [this.url, this.directUrl] : [this.url], error);
  }

  private settle(next: Availability): void {
    const changed = this.availability?.available !== next.available;
    this.availability = next;
    if (changed) for (const listener of this.listeners) listener(next);
  }

  /** Waiting too long for a pooled connection says the pool is busy, not that the database is down (ping tells that). */
  report(outcome: unknown): void {
    if (outcome === undefined) this.settle({ available: true });
    else if (isConnectionError(outcome) && !isPoolWait(outcome)) this.settle({ available: false, cause: this.masked(outcome) });
  }

  async ping(timeoutMs: number): Promise<boolean> {
    const outcome = Promise.all([this.control.query('SELECT 1'), this.directUrl && reachPooler(this.url, timeoutMs)]).then(
      () => undefined,
      (error: unknown) => error,
    );
    const failure = await within(outcome, timeoutMs, new DataError('unavailable', 'no answer to SELECT 1'));
    this.settle(failure === undefined ? { available: true } : { available: false, cause: this.masked(failure) });
    return failure === undefined;
  }

  watch(listener: (availability: Availability) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
