/**
 * Whether the database answers, as this handle last learned it: from the outcome of each call (`report`) and from
 * health checks on the control connection (`ping`); listeners hear each change, not each repeat.
 */
import type pg from 'pg';
import { DataError, describeDatabaseError, isConnectionError, isPoolWait } from '../errors.js';

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

/** The error text with the URL's password masked, for logs. */
function masked(url: string, error: unknown): string {
  const password = decodeURIComponent(new URL(url).password);
  const text = describeDatabaseError(error);
  return password ? text.split(password).join('***') : text;
}

export class Health {
  private availability: Availability | undefined;
  private readonly listeners = new Set<(availability: Availability) => void>();

  constructor(
    private readonly url: string,
    private readonly control: pg.Pool,
  ) {}

  private settle(next: Availability): void {
    const changed = this.availability?.available !== next.available;
    this.availability = next;
    if (changed) for (const listener of this.listeners) listener(next);
  }

  /** Waiting too long for a pooled connection says the pool is busy, not that the database is down (ping tells that). */
  report(outcome: unknown): void {
    if (outcome === undefined) this.settle({ available: true });
    else if (isConnectionError(outcome) && !isPoolWait(outcome)) this.settle({ available: false, cause: masked(this.url, outcome) });
  }

  async ping(timeoutMs: number): Promise<boolean> {
    const outcome = this.control.query('SELECT 1').then(
      () => undefined,
      (error: unknown) => error,
    );
    const failure = await within(outcome, timeoutMs, new DataError('unavailable', 'no answer to SELECT 1'));
    this.settle(failure === undefined ? { available: true } : { available: false, cause: masked(this.url, failure) });
    return failure === undefined;
  }

  watch(listener: (availability: Availability) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
