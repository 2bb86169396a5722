/**
 * The hot reads' pool: one statement per checkout, bound values, named statements prepared once per connection. A
 * statement whose deadline passed or whose caller gave up is cancelled on the server and its connection dropped.
 * Behind a transaction pooler (`pooler.ts`): statements unnamed, and cancelled through the pooler, never by pid.
 */
import type pg from 'pg';
import { DataError, endsSession } from '../errors.js';
import { cancelThroughPooler, statementFor, type Pooler } from './pooler.js';

/** A statement prepared on each connection under its name (one fixed text per name). */
export interface NamedStatement {
  name: string;
  text: string;
}

export class Reads {
  // Each read connection's server process id, learned once per connection, so a statement can be cancelled.
  private readonly backends = new WeakMap<pg.PoolClient, Promise<number | undefined>>();
  // The connections running a statement now, for cancelAll behind a transaction pooler.
  private readonly running = new Set<pg.PoolClient>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly control: pg.Pool,
    private readonly queryTimeoutMs: number,
    private readonly pooler: Pooler = 'session',
    private readonly cancelTimeoutMs = 2_000,
  ) {}

  /** Behind a transaction pooler: cancels every statement this pool's connections are running (through the pooler). */
  async cancelRunning(): Promise<void> {
    await Promise.all([...this.running].map((client) => cancelThroughPooler(client, this.cancelTimeoutMs).catch(() => undefined)));
  }

  /**
   * Takes `client` out of the pool for good once its statement is cancelled: by pid on the control connection, or
   * behind a transaction pooler through the pooler before the connection is dropped (a client gone first would leave
   * PgBouncer nothing to forward the cancel for).
   */
  private abandon(client: pg.PoolClient): void {
    if (this.pooler === 'transaction') {
      void cancelThroughPooler(client, this.cancelTimeoutMs)
        .catch(() => undefined)
        .then(() => client.release(true));
      return;
    }
    const pid = this.backendOf(client);
    client.release(true);
    void pid.then((id) => this.cancel(id));
  }

  private backendOf(client: pg.PoolClient): Promise<number | undefined> {
    let pid = this.backends.get(client);
    if (!pid) {
      pid = client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid').then(
        (result) => result.rows[0]?.pid,
        () => undefined,
      );
      this.backends.set(client, pid);
    }
    return pid;
  }

  private async cancel(pid: number | undefined): Promise<void> {
    if (pid !== undefined) await this.control.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => undefined);
  }

  async query<T>(sql: string | NamedStatement, binds: unknown[] = [], signal?: AbortSignal): Promise<T[]> {
    if (signal?.aborted) throw new DataError('timeout', 'The request was abandoned', undefined, { cause: signal.reason });
    const client = await this.pool.connect();
    // The caller gave up while it waited for the connection (an abort after this point is heard below).
    if (signal?.aborted) {
      client.release();
      throw new DataError('timeout', 'The request was abandoned', undefined, { cause: signal.reason });
    }
    if (this.pooler === 'session') void this.backendOf(client);
    this.running.add(client);
    return new Promise<T[]>((resolve, reject) => {
      let done = false;
      const finish = (release: boolean | Error | undefined | 'abandon') => {
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', stop);
        this.running.delete(client);
        if (release === 'abandon') this.abandon(client);
        else client.release(release);
      };
      // The deadline passed or the caller gave up: the connection may still be running the statement, so it
      // leaves the pool and the statement is cancelled on the server.
      const stop = () => {
        if (done) return;
        finish('abandon');
        reject(new DataError('timeout', 'The database took too long to answer', undefined, { cause: signal?.reason }));
      };
      const timer = setTimeout(stop, this.queryTimeoutMs);
      signal?.addEventListener('abort', stop, { once: true });
      client.query<T & pg.QueryResultRow>(statementFor(this.pooler, sql), binds).then(
        (result) => {
          if (done) return;
          finish(undefined);
          resolve(result.rows);
        },
        (error: unknown) => {
          if (done) return;
          finish(endsSession(error) ? (error as Error) : undefined);
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }
}
