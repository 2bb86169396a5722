/**
 * Contract v1.3, "a database fault never ends the process", Jepsen's way: a server process under mixed keep-alive
 * load (reads, keyed creates, updates, stock changes, bulk upserts, long polls, an SSE stream) on a PostgreSQL this
 * test owns; each fault of the table strikes while requests are in flight, then invariants are checked, not timings.
 * The same again with PgBouncer in transaction mode between the server and PostgreSQL (a second process and
 * PostgreSQL of their own), for the pooler's faults. To add a fault, add a row to FAULTS or POOLER_FAULTS.
 */
import { createDatabase, type Database } from '@tradeos/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPgBouncer, type PgBouncer } from '../../../tooling/cluster/pgbouncer.js';
import { spawnServer, type SpawnedServer } from './helpers.js';
import { checkInvariants } from './faults/invariants.js';
import { Load } from './faults/load.js';
import { ownPostgres, type OwnedPostgres } from './faults/postgres.js';

interface Fault<Target> {
  name: string;
  /** Struck with no request in flight (the load starts once the database is back): the first answers must be 2xx. */
  idle?: boolean;
  /** Strikes, and resolves once the database (or the pooler in front of it) accepts connections again. */
  strike: (target: Target) => Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
// Long enough for requests to meet a PostgreSQL that refuses connections.
const OUTAGE_MS = 1_000;

const FAULTS: Fault<OwnedPostgres>[] = [
  {
    name: 'pg_terminate_backend of every catalog backend',
    strike: async (postgres) => {
      await postgres.terminateAll();
    },
  },
  {
    name: 'fast shutdown (57P01 to every session), restart',
    strike: async (postgres) => {
      await postgres.stop('SIGINT');
      await sleep(OUTAGE_MS);
      await postgres.start();
    },
  },
  {
    name: 'immediate shutdown (pg_ctl stop -m immediate), restart',
    strike: async (postgres) => {
      await postgres.stop('SIGQUIT');
      await sleep(OUTAGE_MS);
      await postgres.start();
    },
  },
  {
    name: 'kill -9 of the postmaster, restart',
    strike: async (postgres) => {
      await postgres.stop('SIGKILL');
      await postgres.start();
    },
  },
  {
    name: 'immediate shutdown while idle, restart',
    idle: true,
    strike: async (postgres) => {
      await postgres.stop('SIGQUIT');
      await postgres.start();
    },
  },
];

/** PgBouncer in transaction mode between the server and its PostgreSQL (contract v1.3), restartable on its port. */
class Pooler {
  private bouncer: PgBouncer | undefined;
  private port: number | undefined;

  constructor(readonly postgres: OwnedPostgres) {}

  async start(): Promise<void> {
    const behind = new URL(this.postgres.url);
    this.bouncer = await startPgBouncer({
      host: behind.hostname,
      port: Number(behind.port),
      users: [decodeURIComponent(behind.username)],
      listenPort: this.port,
      queryWaitTimeoutS: 2,
    });
    this.port = this.bouncer.port;
  }

  get url(): string {
    return this.bouncer!.through(this.postgres.url);
  }

  stop(signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    return this.bouncer!.stop(signal);
  }
}

const POOLER_FAULTS: Fault<Pooler>[] = [
  {
    name: 'PgBouncer killed (kill -9), restarted on its port',
    strike: async (pooler) => {
      await pooler.stop('SIGKILL');
      await sleep(OUTAGE_MS);
      await pooler.start();
    },
  },
  {
    name: 'PgBouncer shut down (every client closed), restarted on its port',
    strike: async (pooler) => {
      await pooler.stop('SIGTERM');
      await sleep(OUTAGE_MS);
      await pooler.start();
    },
  },
  {
    name: 'immediate shutdown of PostgreSQL behind PgBouncer, restart',
    strike: async (pooler) => {
      await pooler.postgres.stop('SIGQUIT');
      await sleep(OUTAGE_MS);
      await pooler.postgres.start();
    },
  },
];

// The contract's bound for serving again once PostgreSQL accepts connections.
const RECOVERY_MS = 1_000;
// Generous bounds for what must happen at all, on a machine whose cores are busy.
const PATIENCE_MS = 30_000;

/** A server process under test, a handle on its database (past any pooler) for the invariants, a category to write in. */
interface Rig {
  server: SpawnedServer;
  db: Database;
  categoryId: number;
}

async function openRig(databaseUrl: string, connection?: Record<string, string>): Promise<Rig> {
  const server = await spawnServer({ LOG_LEVEL: 'warn' }, { databaseUrl, connection });
  const db = createDatabase({ url: databaseUrl, pool: { max: 2 } });
  const response = await fetch(`${server.base}/categories`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Faults' }),
  });
  return { server, db, categoryId: ((await response.json()) as { id: number }).id };
}

async function closeRig(rig: Rig | undefined): Promise<void> {
  await rig?.server.stop();
  await rig?.db.close();
}

/**
 * One test per fault: the load runs, the fault strikes, then the stages must each come to pass and the invariants
 * hold. `current` gives the rig and what the faults strike, once `beforeAll` made them.
 */
function faultTests<Target>(faults: Fault<Target>[], prefix: string, current: () => { rig: Rig; target: Target }): void {
  faults.forEach((fault, index) => {
    it(fault.name, async () => {
      const { rig, target } = current();
      const { server, db, categoryId } = rig;
      /** Polls until `condition` holds; false if it did not within PATIENCE_MS or the server died meanwhile. */
      const eventually = async (condition: () => boolean | Promise<boolean>): Promise<boolean> => {
        const deadline = Date.now() + PATIENCE_MS;
        while (Date.now() < deadline && server.running()) {
          if (await condition()) return true;
          await sleep(50);
        }
        return false;
      };
      const expectAlive = () => expect(server.running(), `the server process died:\n${server.output().slice(-3_000)}`).toBe(true);
      const healthy = () => fetch(`${server.base}/health`).then((response) => response.status === 200, () => false);
      const newestEvent = async () => (await db.query<{ id: string }>('SELECT coalesce(max(id), 0)::text AS id FROM events'))[0]!.id;

      expectAlive();
      const tag = `${prefix}${index}`;
      const load = new Load({ base: server.base, prefix: tag, categoryId, after: await newestEvent() });
      // Each stage must come to pass within PATIENCE_MS; once one does not, the rest are skipped and the load stopped.
      const unmet: string[] = [];
      const stage = async (name: string, condition: () => boolean | Promise<boolean>) => {
        if (!unmet.length && !(await eventually(condition))) unmet.push(name);
      };
      let inFlight = 0;
      let back: number;
      if (fault.idle) {
        await fault.strike(target);
        back = load.now();
        await load.start();
      } else {
        await load.start();
        // Struck once every kind of write has been acknowledged, so that each is in flight around the fault.
        await stage('warm-up', () => load.now() > 500 && Object.values(load.acknowledgedSince(0)).every((n) => n > 0));
        inFlight = load.pending();
        await fault.strike(target);
        back = load.now();
      }
      await stage('/health 200 again', healthy);
      const healthyAfter = unmet.length ? 'never' : `${load.now() - back} ms`;
      // From here every request must be served (a 503 now would be a dead connection handed out again).
      const servingFrom = fault.idle ? back : back + RECOVERY_MS;
      await sleep(Math.max(0, servingFrom - load.now()));
      await stage('every kind of write acknowledged after recovery', () => Object.values(load.acknowledgedSince(servingFrom)).every((n) => n > 0));
      const targetEvent = await newestEvent();
      const follows = [load.history.longPoll, load.history.stream];
      await stage('both feed followers caught up after recovery', () => follows.every((follow) => BigInt(follow.ids.at(-1) ?? follow.after) >= BigInt(targetEvent)));
      await load.stop();
      if (server.running()) await load.retryUnknownCreates();

      const verdict = await checkInvariants(db, load.history, tag, server.output(), servingFrom);
      console.log(
        [
          `fault: ${fault.name}`,
          `  process alive: ${server.running()}; requests in flight at the fault: ${inFlight}; /health answered 200 by ${healthyAfter} after the database was back`,
          ...Object.entries(verdict.summary).map(([key, value]) => `  ${key}: ${value}`),
          ...unmet.map((name) => `  NOT MET ${name}`),
          ...verdict.violations.map((line) => `  VIOLATION ${line}`),
        ].join('\n'),
      );
      expectAlive();
      if (!fault.idle) expect(inFlight, 'requests in flight when the fault struck').toBeGreaterThan(0);
      expect(unmet).toEqual([]);
      expect(verdict.violations).toEqual([]);
    });
  });
}

describe('a database fault under load', () => {
  let postgres: OwnedPostgres;
  let rig: Rig;

  beforeAll(async () => {
    postgres = await ownPostgres();
    rig = await openRig(postgres.url);
  });
  afterAll(async () => {
    await closeRig(rig);
    await postgres?.remove();
  });

  faultTests(FAULTS, 'f', () => ({ rig, target: postgres }));
});

describe('a fault of the pooler, or of PostgreSQL behind it, under load', () => {
  let pooler: Pooler;
  let rig: Rig;

  beforeAll(async () => {
    pooler = new Pooler(await ownPostgres());
    await pooler.start();
    rig = await openRig(pooler.postgres.url, { DATABASE_URL: pooler.url, DATABASE_POOLER: 'transaction', DATABASE_DIRECT_URL: pooler.postgres.url });
  });
  afterAll(async () => {
    await closeRig(rig);
    await pooler?.stop('SIGTERM');
    await pooler?.postgres.remove();
  });

  faultTests(POOLER_FAULTS, 'p', () => ({ rig, target: pooler }));
});
