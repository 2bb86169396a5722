/**
 * PgBouncer (Debian's 1.18, /usr/sbin/pgbouncer) in front of one PostgreSQL, for tests and the bench: its own
 * config and auth file in a /tmp directory, a free port, every database name passed through (`*`), `stop()`.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@tradeos/db';

const PGBOUNCER = '/usr/sbin/pgbouncer';

export interface PgBouncerOptions {
  /** The PostgreSQL behind it. */
  host: string;
  port: number;
  /** The roles clients log in as (trusted: the server behind decides, as it does for them directly). */
  users: string[];
  /** `transaction` (the point of it) or `session`. */
  poolMode?: 'transaction' | 'session';
  /** Server connections per database and role. */
  poolSize?: number;
  maxClientConnections?: number;
  /** Listen on this port (a restarted PgBouncer takes its predecessor's); default a free one. */
  listenPort?: number;
  /** How long a client's statement may wait for a server connection before PgBouncer ends it (`query_wait_timeout`; 120 s). */
  queryWaitTimeoutS?: number;
}

export interface PgBouncer {
  host: string;
  port: number;
  /** `url` with its host and port replaced by PgBouncer's: the same database and role, through the pooler. */
  through(url: string): string;
  /** What PgBouncer printed so far (its log). */
  output(): string;
  /**
   * Ends the process and removes its directory: SIGTERM is PgBouncer's immediate shutdown (every client connection
   * closed), SIGKILL a crash (the sockets reset by the kernel).
   */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
}

/** PgBouncer refuses to run as root: as root it runs as the `postgres` system user (which the machine has). */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  return {
    uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()),
  };
}

function config(options: PgBouncerOptions, port: number, dir: string): string {
  return `[databases]
* = host=${options.host} port=${options.port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
unix_socket_dir =
auth_type = trust
auth_file = ${join(dir, 'userlist.txt')}
pool_mode = ${options.poolMode ?? 'transaction'}
default_pool_size = ${options.poolSize ?? 20}
max_client_conn = ${options.maxClientConnections ?? 2000}
query_wait_timeout = ${options.queryWaitTimeoutS ?? 120}
server_login_retry = 1
log_connections = 0
log_disconnections = 0
`;
}

async function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitUntilListening(child: ChildProcess, port: number, output: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await accepting(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`pgbouncer did not start: ${output().trim().slice(-2000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function startPgBouncer(options: PgBouncerOptions): Promise<PgBouncer> {
  if (!existsSync(PGBOUNCER)) throw new Error(`no PgBouncer at ${PGBOUNCER}: install Debian's pgbouncer package (apt-get install pgbouncer)`);
  const dir = await mkdtemp(join(tmpdir(), 'tradeos-pgbouncer-'));
  const port = options.listenPort ?? (await freePort());
  const ids = runAs();
  const configPath = join(dir, 'pgbouncer.ini');
  await writeFile(configPath, config(options, port, dir));
  await writeFile(join(dir, 'userlist.txt'), options.users.map((user) => `"${user.replaceAll('"', '""')}" ""\n`).join(''));
  await chmod(dir, 0o700);
  if (ids) for (const path of [dir, configPath, join(dir, 'userlist.txt')]) await chown(path, ids.uid, ids.gid);

  const child = spawn(PGBOUNCER, [configPath], { ...ids, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const output = () => log;
  child.stdout?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const exited = once(child, 'exit');
  await waitUntilListening(child, port, output);

  return {
    host: '127.0.0.1',
    port,
    through(url: string) {
      const parsed = new URL(url);
      parsed.hostname = '127.0.0.1';
      parsed.port = String(port);
      return parsed.toString();
    },
    output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) {
        // SIGTERM: PgBouncer's immediate shutdown (SIGINT would wait for every client to leave).
        child.kill(signal);
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
