/**
 * Which replicas take reads: the poller that keeps each one's state (on a timer and connections of its own), the
 * round robin over the healthy ones, and the short wait for one to replay a read's minimum position.
 */
import type pg from 'pg';
import { lsnPosition, type Position } from './positions.js';
import { Replica, type ReplicaSetOptions, type ReplicaStatus } from './replicas.js';
import type { PoolStats } from './stats.js';

interface PrimarySample {
  position: Position;
  at: number;
}

interface Waiter {
  min: Position;
  resolve: (replica: Replica | undefined) => void;
}

// Unnamed: it runs on the primary's pools, which may be PgBouncer in transaction mode (no named statements there).
const CURRENT = 'SELECT pg_current_wal_lsn()::text AS lsn';

/** The primary's WAL position now, on `pool`; undefined when it does not answer. */
export async function currentPosition(pool: pg.Pool): Promise<Position | undefined> {
  return pool.query<{ lsn: string }>(CURRENT).then(
    (result) => lsnPosition(result.rows[0]?.lsn),
    () => undefined,
  );
}

export class ReplicaSet {
  readonly replicas: Replica[];
  /** A lower bound of the primary's position: its last poll, or the last commit this handle saw, the higher. */
  primary: Position = 0n;
  private primaryUp = true;
  private history: PrimarySample[] = [];
  private turn = 0;
  private polling: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly waiters = new Set<Waiter>();
  private catchingUp = false;

  constructor(private readonly options: ReplicaSetOptions) {
    this.replicas = options.urls.map((url) => new Replica(url, options.settings));
    if (!this.replicas.length) return;
    void this.poll();
    this.timer = setInterval(() => void this.poll(), options.pollMs).unref();
  }

  /** A commit this handle saw: the primary is at least there. */
  advance(position: Position): void {
    if (position > this.primary) this.primary = position;
  }

  statuses(): ReplicaStatus[] {
    return this.replicas.map((replica) => replica.status());
  }

  poolStats(): PoolStats[] {
    return this.replicas.map((replica, index) => replica.stats(index + 1));
  }

  /** The next healthy replica in turn that has replayed `min`, other than `except`; undefined when none has. */
  next(min: Position, except?: Replica): Replica | undefined {
    const count = this.replicas.length;
    for (let step = 0; step < count; step += 1) {
      const replica = this.replicas[(this.turn + step) % count]!;
      if (replica.state !== 'healthy' || replica === except || replica.replayed < min) continue;
      this.turn = (this.turn + step + 1) % count;
      return replica;
    }
    return undefined;
  }

  /** The first healthy replica to replay `min` within `timeoutMs`, checked on the monitor connections; else undefined. */
  waitFor(min: Position, timeoutMs: number): Promise<Replica | undefined> {
    if (!this.replicas.some((replica) => replica.state === 'healthy')) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const waiter: Waiter = { min, resolve: (replica) => (clearTimeout(timer), this.waiters.delete(waiter), resolve(replica)) };
      const timer = setTimeout(() => waiter.resolve(undefined), timeoutMs);
      this.waiters.add(waiter);
      void this.catchUp();
    });
  }

  /** While reads wait, every healthy replica's replay position is read again, one round after another. */
  private async catchUp(): Promise<void> {
    if (this.catchingUp) return;
    this.catchingUp = true;
    try {
      while (this.waiters.size) {
        const healthy = this.replicas.filter((replica) => replica.state === 'healthy');
        if (!healthy.length) break;
        await Promise.all(healthy.map(async (replica) => replica.replayedUpTo((await replica.replayPosition()) ?? 0n)));
        for (const waiter of this.waiters) {
          const ready = healthy.find((replica) => replica.state === 'healthy' && replica.replayed >= waiter.min);
          if (ready) waiter.resolve(ready);
        }
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      for (const waiter of this.waiters) waiter.resolve(undefined);
    } finally {
      this.catchingUp = false;
    }
  }

  /** One round of polls; a round still running when the timer fires again is not doubled. */
  poll(): Promise<void> {
    this.polling ??= this.pollOnce().finally(() => (this.polling = undefined));
    return this.polling;
  }

  private async pollOnce(): Promise<void> {
    const [primary, samples] = await Promise.all([currentPosition(this.options.primary), Promise.all(this.replicas.map((replica) => replica.sample()))]);
    const now = Date.now();
    this.primaryUp = primary !== undefined;
    if (primary !== undefined) this.remember(primary, now);
    this.replicas.forEach((replica, index) => this.judge(replica, samples[index], now));
  }

  private remember(position: Position, now: number): void {
    this.advance(position);
    const last = this.history.at(-1);
    if (!last || position > last.position) this.history.push({ position, at: now });
    // Older samples only matter while a replica may still be behind them; past twice the limit it is lagging anyway.
    const horizon = now - 2 * this.options.maxLagMs - 2 * this.options.pollMs;
    while (this.history.length > 1 && this.history[0]!.at < horizon) this.history.shift();
  }

  private judge(replica: Replica, sample: Awaited<ReturnType<Replica['sample']>>, now: number): void {
    // Unreachable, or promoted (no longer replaying): no reads.
    if (!sample?.recovering) return replica.lost();
    const replayed = lsnPosition(sample.lsn);
    replica.replayed = replayed;
    // With the primary down nothing newer exists anywhere: a replica that answers serves the newest data there is.
    replica.lagMs = this.primaryUp ? this.lagOf(replayed, sample.ts_lag_ms, now) : null;
    replica.state = replica.lagMs !== null && replica.lagMs > this.options.maxLagMs ? 'lagging' : 'healthy';
  }

  private lagOf(replayed: Position, timestampLagMs: number | null, now: number): number {
    const behind = this.history.find((sample) => sample.position > replayed);
    if (!behind) return 0;
    const unreplayedFor = now - behind.at;
    return timestampLagMs === null ? unreplayedFor : Math.round(Math.max(0, Math.min(unreplayedFor, timestampLagMs)));
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    for (const waiter of this.waiters) waiter.resolve(undefined);
    await this.polling;
    await Promise.all(this.replicas.map((replica) => replica.close()));
  }
}
