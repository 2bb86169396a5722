/**
 * The streaming replicas (contract v1.3): each one's hot-read pool, and its state as a poller on a timer and
 * connections of its own last saw it — never on a request's path. A replica past the lag limit or unreachable
 * leaves the rotation and returns by itself once a poll finds it well again.
 *
 * Lag is measured on this process's clock against the primary's WAL position, not from the last replayed
 * transaction's timestamp alone: after an idle hour that timestamp is an hour old though the replica misses
 * nothing. A replica whose replay position reaches the primary's last sampled one has lag 0; otherwise its lag is
 * the age of the oldest primary sample it has not replayed, capped by `now() - pg_last_xact_replay_timestamp()`.
 */
import pg from 'pg';
import { SessionClient } from './clients.js';
import { lsnPosition, type Position } from './positions.js';
import { startupTimeout, type Pooler } from './pooler.js';
import { Reads } from './reads.js';
import { pgPoolStats, type PoolStats } from './stats.js';

/** One configured replica's last known state, as the poller saw it. `name`: host:port/database, never a password. */
export interface ReplicaStatus {
  name: string;
  state: 'healthy' | 'lagging' | 'down';
  lagMs: number | null;
}

/** What a replica's pools are opened with: the primary's hot-read settings. */
export interface ReplicaSettings {
  max: number;
  min: number;
  idleTimeoutMs: number;
  acquireTimeoutMs: number;
  connectTimeoutMs: number;
  statementTimeoutMs: number;
  queryTimeoutMs: number;
  applicationName: string;
}

export interface ReplicaSetOptions {
  urls: string[];
  settings: ReplicaSettings;
  /** The primary's poller connection (one, of its own). */
  primary: pg.Pool;
  maxLagMs: number;
  pollMs: number;
}

/** `host:port/database` of a URL: what logs, /health and /metrics may show. */
export function replicaName(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || '5432'}/${decodeURIComponent(parsed.pathname.slice(1))}`;
}

/** A single-connection pool for polls and cancellations: a saturated read pool cannot delay them. */
export function monitorPool(url: string, connectTimeoutMs: number, pooler: Pooler = 'session'): pg.Pool {
  const pool = new pg.Pool({
    Client: SessionClient,
    connectionString: url,
    max: 1,
    connectionTimeoutMillis: Math.min(connectTimeoutMs, 2_000),
    ...startupTimeout(pooler, 2_000),
    query_timeout: 2_000,
    application_name: 'tradeos-catalog-monitor',
  });
  pool.on('error', () => undefined);
  return pool;
}

const REPLAYED = { name: 'tradeos_replay_position', text: 'SELECT pg_last_wal_replay_lsn()::text AS lsn' };

interface ReplicaSample {
  recovering: boolean;
  lsn: string | null;
  /** `now() - pg_last_xact_replay_timestamp()` on the replica; null before its first replayed transaction. */
  ts_lag_ms: number | null;
}

export class Replica {
  readonly name: string;
  readonly pool: pg.Pool;
  readonly monitor: pg.Pool;
  readonly reads: Reads;
  state: ReplicaStatus['state'] = 'down';
  lagMs: number | null = null;
  /** A lower bound of what this replica has replayed: 0 until a poll reaches it, and again after it was lost. */
  replayed: Position = 0n;

  constructor(url: string, settings: ReplicaSettings) {
    this.name = replicaName(url);
    this.pool = new pg.Pool({
      Client: SessionClient,
      connectionString: url,
      max: settings.max,
      min: settings.min,
      idleTimeoutMillis: settings.idleTimeoutMs,
      connectionTimeoutMillis: settings.acquireTimeoutMs,
      statement_timeout: settings.statementTimeoutMs,
      application_name: settings.applicationName,
    });
    this.pool.on('error', () => undefined);
    this.monitor = monitorPool(url, settings.connectTimeoutMs);
    this.reads = new Reads(this.pool, this.monitor, settings.queryTimeoutMs);
  }

  status(): ReplicaStatus {
    return { name: this.name, state: this.state, lagMs: this.lagMs };
  }

  /** A read's connection died here: out of the rotation until a poll reaches the replica again. */
  lost(): void {
    this.state = 'down';
    this.lagMs = null;
    this.replayed = 0n;
  }

  /** Raises the known replay position (never lowers it: replay only moves on). */
  replayedUpTo(position: Position): void {
    if (position > this.replayed) this.replayed = position;
  }

  async sample(): Promise<ReplicaSample | undefined> {
    const sql = `SELECT pg_is_in_recovery() AS recovering, pg_last_wal_replay_lsn()::text AS lsn,
      (extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000)::float8 AS ts_lag_ms`;
    return this.monitor.query<ReplicaSample>(sql).then(
      (result) => result.rows[0],
      () => undefined,
    );
  }

  /** Its replay position now, on the monitor connection; undefined when it does not answer. */
  async replayPosition(): Promise<Position | undefined> {
    return this.monitor.query<{ lsn: string | null }>(REPLAYED).then(
      (result) => lsnPosition(result.rows[0]?.lsn),
      () => undefined,
    );
  }

  stats(index: number): PoolStats {
    return pgPoolStats(`replica ${index}`, this.pool, this.pool.options.max);
  }

  async cancelAll(applicationName: string): Promise<void> {
    await this.monitor.query('SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [applicationName]).catch(() => undefined);
  }

  async close(): Promise<void> {
    await Promise.all([this.pool.end(), this.monitor.end()]);
  }
}
