/**
 * A primary and its streaming replicas from the machine's PostgreSQL 15 binaries, in a temp directory, for tests and
 * the bench (contract v1.3): `initdb` with `wal_level = replica`, replicas by `pg_basebackup -R`, each stopped,
 * killed, restarted or paused (`pg_wal_replay_pause()`) on demand. As root, every server runs as the `postgres` user.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createDatabase, createMigrator, freePort, type Database, type DatabaseOptions } from '@tradeos/db';
import { createTestDatabase, withDatabaseName } from '@tradeos/db/testing';
import pg from 'pg';

// Debian's packaged server (what CI's machine runs on 5432): the newest major version installed, 15 on Debian 12.
const BIN = (() => {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((name) => existsSync(join(root, name, 'bin', 'initdb'))) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) throw new Error(`no PostgreSQL server binaries under ${root}: install Debian's postgresql package`);
  return join(root, newest, 'bin');
})();
const USER = 'postgres';

type Ids = { uid: number; gid: number } | undefined;

function runAs(): Ids {
  if (process.getuid?.() !== 0) return undefined;
  return { uid: Number(execFileSync('id', ['-u', USER]).toString().trim()), gid: Number(execFileSync('id', ['-g', USER]).toString().trim()) };
}

function run(command: string, args: string[], ids: Ids): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(BIN, command), args, { ...ids, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited with ${String(code)}: ${output.trim().slice(-2000)}`))));
  });
}

/** Resolves once the server says it accepts connections (read-only ones for a standby); rejects if it exits first. */
function ready(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
      if (/ready to accept (read-only )?connections/.test(output)) resolve();
    };
    child.stderr?.on('data', onData);
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`postgres exited with ${String(code)}: ${output.trim()}`)));
  });
}

const SETTINGS = [
  'listen_addresses=127.0.0.1', 'unix_socket_directories=', 'wal_level=replica', 'max_wal_senders=10', 'wal_keep_size=512MB',
  'hot_standby=on', 'hot_standby_feedback=on', 'fsync=off', 'max_connections=200', 'shared_buffers=32MB',
];

/** One server of the cluster, on its own port and data directory. */
/** Polls `check` until it holds; fails with `what` after a generous deadline (never a fixed sleep). */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export class PostgresNode {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    readonly dataDir: string,
    readonly port: number,
    private readonly ids: Ids,
  ) {}

  /** A URL of `database` on this server (the superuser, trust authentication). */
  url(database = 'postgres'): string {
    return `postgres://${USER}@127.0.0.1:${this.port}/${encodeURIComponent(database)}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  async start(): Promise<void> {
    if (this.child) return;
    const child = spawn(join(BIN, 'postgres'), ['-D', this.dataDir, '-p', String(this.port), ...SETTINGS.flatMap((s) => ['-c', s])], {
      ...this.ids,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.once('exit', () => {
      if (this.child === child) this.child = undefined;
    });
    await ready(child);
  }

  /** `fast` (SIGINT) ends sessions and checkpoints; `immediate` (SIGQUIT) is a crash: every session dies at once. */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill(mode === 'fast' ? 'SIGINT' : 'SIGQUIT');
    const force = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await this.exited;
    clearTimeout(force);
  }

  /** One statement on a connection of its own. */
  async sql<T extends pg.QueryResultRow>(text: string, binds: unknown[] = [], database = 'postgres'): Promise<T[]> {
    const client = new pg.Client({ connectionString: this.url(database) });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return (await client.query<T>(text, binds)).rows;
    } finally {
      await client.end();
    }
  }
}

export interface Cluster {
  primary: PostgresNode;
  replicas: PostgresNode[];
  /** Stops replay on a replica (`pg_wal_replay_pause()`); it keeps answering reads, with old data. */
  pause(replica: PostgresNode): Promise<void>;
  resume(replica: PostgresNode): Promise<void>;
  /** Resolves once every running replica replayed the primary's position as of now; throws after `timeoutMs`. */
  caughtUp(timeoutMs?: number): Promise<void>;
  /** Stops every server and removes the directory. */
  stop(): Promise<void>;
}

async function replayed(replica: PostgresNode, target: string): Promise<boolean> {
  const [row] = await replica.sql<{ done: boolean }>('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done', [target]).catch(() => [{ done: false }]);
  return row?.done ?? false;
}

/** A primary and `replicas` streaming replicas (default 1), running. */
export async function startCluster({ replicas: count = 1 }: { replicas?: number } = {}): Promise<Cluster> {
  const ids = runAs();
  const base = await mkdtemp('/tmp/tradeos-cluster-');
  if (ids) await chown(base, ids.uid, ids.gid);
  const primary = new PostgresNode('primary', join(base, 'primary'), await freePort(), ids);
  const replicas: PostgresNode[] = [];
  const stop = async () => {
    await Promise.all([primary, ...replicas].map((node) => node.stop('immediate')));
    await rm(base, { recursive: true, force: true });
  };
  try {
    await run('initdb', ['-D', primary.dataDir, '-U', USER, '--auth=trust', '--encoding=UTF8', '--locale=C.UTF-8'], ids);
    await primary.start();
    for (let index = 1; index <= count; index += 1) {
      const replica = new PostgresNode(`replica ${index}`, join(base, `replica${index}`), await freePort(), ids);
      await run('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primary.port), '-U', USER, '-D', replica.dataDir, '-R', '-X', 'stream', '--checkpoint=fast'], ids);
      await replica.start();
      replicas.push(replica);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const cluster: Cluster = {
    primary,
    replicas,
    pause: async (replica) => void (await replica.sql('SELECT pg_wal_replay_pause()')),
    resume: async (replica) => void (await replica.sql('SELECT pg_wal_replay_resume()')),
    async caughtUp(timeoutMs = 60_000) {
      const [{ lsn } = { lsn: '0/0' }] = await primary.sql<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
      const deadline = Date.now() + timeoutMs;
      for (const replica of replicas.filter((node) => node.running)) {
        while (!(await replayed(replica, lsn))) {
          if (Date.now() > deadline) throw new Error(`${replica.name} did not replay ${lsn} within ${timeoutMs} ms`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    },
    stop,
  };
  return cluster;
}

/**
 * A fresh migrated database on the cluster's primary and a handle whose reads go to every replica (`options` as
 * `createDatabase` takes them), once the replicas replayed the migrations; `drop()` closes it and removes the database.
 */
export async function openClusterDatabase(cluster: Cluster, options: Omit<DatabaseOptions, 'url' | 'replicaUrls'> = {}): Promise<{ db: Database; url: string; replicaUrls: string[]; drop: () => Promise<void> }> {
  const database = await createTestDatabase(cluster.primary.url());
  const name = decodeURIComponent(new URL(database.url).pathname.slice(1));
  const replicaUrls = cluster.replicas.map((replica) => withDatabaseName(replica.url(), name));
  const db = createDatabase({ ...options, url: database.url, replicaUrls });
  await createMigrator(db).up();
  await cluster.caughtUp();
  const deadline = Date.now() + 30_000;
  while (db.replicas().some((replica) => replica.state !== 'healthy')) {
    if (Date.now() > deadline) throw new Error(`replicas not healthy: ${JSON.stringify(db.replicas())}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    db,
    url: database.url,
    replicaUrls,
    async drop() {
      await db.close();
      await database.drop().catch(() => undefined);
    },
  };
}
