/**
 * Process entry: configuration, database (DATABASE_URL or embedded), migrations and seed, then one
 * server process, or WORKERS of them sharing the port (node:cluster); graceful shutdown on SIGTERM/SIGINT.
 */
import cluster from 'node:cluster';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ConfigError,
  createDatabase,
  createMigrator,
  databaseOptions,
  describeDatabaseError,
  isCredentialError,
  openDatabaseServer,
  seed,
  type Database,
  type DatabaseServer,
} from '@tradeos/db';
import { buildApp } from './app.js';
import { serveMetricsToWorkers, workerMetrics } from './cluster-metrics.js';
import { announcePortClosed, portClosedByPrimary } from './drain.js';
import { loadEnv, type Env } from './env.js';
import { ClusterStore, RedisStore, serveRateLimitToWorkers, type RateLimitStore } from './rate-limit.js';

const log = (line: string) => process.stdout.write(`${line}\n`);
/** How long after the deadline the primary waits for a worker to answer what it still ran and leave (drain.ts: 3 s at most). */
const WORKER_EXIT_GRACE_MS = 5_000;

/** An external database behind this build's migrations is drift an operator must see; /health shows it too. */
async function warnIfPending(db: Database): Promise<void> {
  try {
    const { pending } = await createMigrator(db).status();
    if (pending.length) {
      log(`warning: ${pending.length} pending migration(s): ${pending.join(', ')}; run \`pnpm db:migrate\` (or set MIGRATE_ON_START=true)`);
    }
  } catch (error) {
    // A refused login will not fix itself; an unreachable server may, and is answered with 503s meanwhile.
    if (isCredentialError(error)) throw error;
    log(`warning: could not check migrations: ${describeDatabaseError(error)}`);
  }
}

/** Starts the embedded server if needed, then migrates and seeds as configured; the primary does this once. */
async function prepareDatabase(env: Env): Promise<DatabaseServer> {
  const server = await openDatabaseServer(env.database);
  const { embedded } = server;
  if (embedded) log(`embedded PostgreSQL at 127.0.0.1:${new URL(embedded.url).port} (data in ${env.database.embedded.dataDir})`);

  // The embedded database is ours to keep current; an external one only when asked.
  const migrate = env.MIGRATE_ON_START ?? Boolean(embedded);
  const seedEmpty = env.SEED_ON_START ?? Boolean(embedded);
  const db = createDatabase(databaseOptions(env.database, server.url));
  try {
    if (migrate) {
      const applied = await createMigrator(db, log).up();
      if (applied.length) log(`applied ${applied.length} migration(s)`);
    } else {
      await warnIfPending(db);
    }
    const [rows] = seedEmpty ? await db.sequelize.query('SELECT NOT EXISTS (SELECT 1 FROM categories) AS empty') : [[]];
    if ((rows as { empty: boolean }[])[0]?.empty) log(`seeded an empty catalog with ${(await seed(db)).productsInserted} products`);
  } catch (error) {
    await db.close();
    await embedded?.stop();
    throw new Error(describeDatabaseError(error));
  }
  await db.close();
  return server;
}

/** Where the rate limit is counted: Redis when configured, else the cluster primary for a worker, else here. */
function rateLimitStore(env: Env): RateLimitStore | undefined {
  if (env.RATE_LIMIT_MAX === 0) return undefined;
  if (env.REDIS_URL) return new RedisStore(env.REDIS_URL, env.RATE_LIMIT_WINDOW_MS);
  return cluster.isWorker ? new ClusterStore() : undefined;
}

interface Serving {
  /** Stops accepting, answers every request received, ends streams and long polls, then releases the pool. */
  stop: () => Promise<void>;
  /** At the shutdown deadline: whatever still runs is answered 503 busy; resolves once those answers are out. */
  expire: () => Promise<void>;
}

/** One HTTP server process. */
async function serve(env: Env, url: string): Promise<Serving> {
  const db = createDatabase(databaseOptions(env.database, url));
  const app = buildApp({
    db,
    logger: { level: env.LOG_LEVEL },
    apiKeys: env.API_KEYS,
    requestTimeoutMs: env.REQUEST_TIMEOUT_MS,
    corsOrigins: env.CORS_ORIGINS,
    rateLimit: { max: env.RATE_LIMIT_MAX, windowMs: env.RATE_LIMIT_WINDOW_MS, store: rateLimitStore(env) },
    maxBatchSize: env.TRPC_MAX_BATCH_SIZE,
    requestLogSample: env.REQUEST_LOG_SAMPLE,
    events: { retentionDays: env.EVENTS_RETENTION_DAYS },
    listenerClosed: cluster.isWorker ? portClosedByPrimary : undefined,
    metrics: cluster.isWorker ? workerMetrics() : undefined,
  });
  await app.listen({ port: env.PORT, host: env.HOST });
  return {
    stop: async () => {
      await app.close();
      await db.close();
    },
    // The answers go out first; then the work behind them is cancelled, so none of it lands after a 503 busy.
    expire: async () => {
      const answered = app.drain.answerBusy();
      await db.cancelAll().catch((error: unknown) => console.error(`cancelling statements failed: ${describeDatabaseError(error)}`));
      await answered;
    },
  };
}

/**
 * Runs `stop` on SIGTERM/SIGINT. If it has not finished by SHUTDOWN_TIMEOUT_MS, `expire` answers what still runs and
 * the process leaves with 0 (`leave` first, if given): every request got its answer, which is what a graceful
 * shutdown owes. The statements still running are cancelled first, so nothing answered busy is applied after all.
 */
function onSignal(env: Env, stop: () => Promise<void>, expire: () => Promise<void>, leave?: () => Promise<void>): void {
  let stopping = false;
  const fail = (error: unknown) => {
    console.error(`shutdown failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  };
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: shutting down`);
    const deadline = setTimeout(() => {
      log('shutdown deadline passed: answering what still runs with 503');
      expire()
        .then(() => leave?.())
        .then(() => process.exit(0), fail);
    }, env.SHUTDOWN_TIMEOUT_MS);
    deadline.unref();
    stop().then(() => clearTimeout(deadline), fail);
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

async function main(): Promise<void> {
  const env = loadEnv();
  if (cluster.isWorker) {
    // The primary prepared the database and handed its URL down. The IPC channel to the primary keeps a
    // worker alive, so once drained it leaves by itself.
    const { stop, expire } = await serve(env, env.database.url!);
    onSignal(
      env,
      async () => {
        await stop();
        process.exit(0);
      },
      expire,
    );
    return;
  }

  const { url, embedded } = await prepareDatabase(env);
  if (env.WORKERS === 1) {
    const { stop, expire } = await serve(env, url);
    const stopEmbedded = async () => embedded?.stop();
    onSignal(
      env,
      async () => {
        await stop();
        await stopEmbedded();
      },
      expire,
      stopEmbedded,
    );
    return;
  }

  if (env.RATE_LIMIT_MAX > 0 && !env.REDIS_URL) serveRateLimitToWorkers(cluster, env.RATE_LIMIT_WINDOW_MS);
  announcePortClosed(cluster);
  serveMetricsToWorkers(cluster);
  const fork = () => cluster.fork({ DATABASE_URL: url, MIGRATE_ON_START: 'false', SEED_ON_START: 'false' });
  const workers = new Set(Array.from({ length: env.WORKERS }, fork));
  let stopping = false;
  cluster.on('exit', (worker, code) => {
    workers.delete(worker);
    if (stopping) return;
    // Workers hold no state: a crashed one is simply replaced.
    console.error(`worker ${worker.process.pid ?? '?'} exited with ${String(code)}; starting another`);
    setTimeout(() => workers.add(fork()), 1_000);
  });
  log(`${env.WORKERS} workers serving http://${env.HOST}:${env.PORT}`);
  const exited = () => Promise.all([...workers].filter((worker) => !worker.isDead()).map((worker) => once(worker, 'exit')));
  const stopEmbedded = async () => embedded?.stop();
  onSignal(
    env,
    async () => {
      stopping = true;
      const all = exited();
      for (const worker of workers) if (!worker.isDead()) worker.process.kill('SIGTERM');
      await all;
      await stopEmbedded();
    },
    // Each worker answers what it still runs at its own deadline, then leaves; one still here after that is stuck.
    async () => {
      const stuck = await Promise.race([exited().then(() => false), sleep(WORKER_EXIT_GRACE_MS, true)]);
      if (!stuck) return;
      for (const worker of workers) worker.process.kill('SIGKILL');
      console.error('shutdown timed out: a worker did not leave after its deadline');
      process.exit(1);
    },
    stopEmbedded,
  );
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(error.message);
  else console.error(`failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
