/**
 * The hot reads' pool: one statement per checkout, bound values, named statements prepared once per connection. A
 * statement whose deadline passed or whose caller gave up is cancelled on the server and its connection dropped.
 */
import type pg from 'pg';
import { DataError, endsSession } from '../errors.js';

/** A statement prepared on each connection under its name (one fixed text per name). */
export interface NamedStatement {
  name: string;
  text: string;
}

export class Reads {
  // Each read connection's server process id, learned once per connection, so a statement can be cancelled.
  private readonly backends = new WeakMap<pg.PoolClient, Promise<number | undefined>>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly control: pg.Pool,
    private readonly queryTimeoutMs: number,
  ) {}

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
    const pid = this.backendOf(client);
    return new Promise<T[]>((resolve, reject) => {
      let done = false;
      const finish = (release: boolean | Error | undefined) => {
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', stop);
        client.release(release);
      };
      // The deadline passed or the caller gave up: the connection may still be running the statement, so it
      // leaves the pool and the statement is cancelled on the server.
      const stop = () => {
        if (done) return;
        finish(true);
        void pid.then((id) => this.cancel(id));
        reject(new DataError('timeout', 'The database took too long to answer', undefined, { cause: signal?.reason }));
      };
      const timer = setTimeout(stop, this.queryTimeoutMs);
      signal?.addEventListener('abort', stop, { once: true });
      client.query<T & pg.QueryResultRow>(typeof sql === 'string' ? { text: sql } : sql, binds).then(
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
