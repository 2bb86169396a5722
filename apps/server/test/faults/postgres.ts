/**
 * A PostgreSQL the fault harness owns (embedded, in a temp directory, whatever TEST_DATABASE_URL says), so it can
 * terminate every backend of the catalog, stop the server fast or immediately, kill its postmaster, and restart it.
 */
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDatabase, freePort, startEmbeddedPostgres, type EmbeddedPostgres } from '@tradeos/db';
import { isAlive } from '@tradeos/db/testing';

export const DATABASE = 'catalog';

/** How the postmaster is stopped: SIGINT (fast: sessions told 57P01), SIGQUIT (immediate), SIGKILL (no goodbye at all). */
export type StopSignal = 'SIGINT' | 'SIGQUIT' | 'SIGKILL';

export interface OwnedPostgres {
  /** The catalog database's URL; the port stays the same across restarts. */
  readonly url: string;
  /** Terminates every backend of the catalog database (`pg_terminate_backend`); resolves to how many. */
  terminateAll(): Promise<number>;
  /** Signals the postmaster and waits until it has exited (its orphaned backends may linger after SIGKILL). */
  stop(signal: StopSignal): Promise<void>;
  /** Starts the server again on the same port and data; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops the server and removes its data. */
  remove(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Each PostgreSQL of this process in a directory of its own.
let owned = 0;

export async function ownPostgres(): Promise<OwnedPostgres> {
  owned += 1;
  const dataDir = join(tmpdir(), `tradeos-faults-${process.pid}-${owned}`);
  const port = await freePort();
  const open = () => startEmbeddedPostgres({ dataDir, port, database: DATABASE });
  let server: EmbeddedPostgres = await open();
  const admin = () => createDatabase({ url: server.adminUrl, pool: { max: 1 } });

  return {
    url: server.url,
    async terminateAll() {
      const db = admin();
      try {
        const [row] = await db.probe<{ terminated: number }>(
          'SELECT count(pg_terminate_backend(pid))::int AS terminated FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
          [DATABASE],
        );
        return row?.terminated ?? 0;
      } finally {
        await db.close();
      }
    },
    async stop(signal) {
      const pid = Number((await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
      process.kill(pid, signal);
      while (isAlive(pid)) await sleep(20);
    },
    async start() {
      // After a SIGKILL the orphaned backends still hold the shared memory until they notice: the start is refused
      // ("pre-existing shared memory block is still in use") until they have gone.
      for (let attempt = 1; ; attempt += 1) {
        try {
          server = await open();
          return;
        } catch (error) {
          if (attempt >= 100) throw error;
          await sleep(200);
        }
      }
    },
    async remove() {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
