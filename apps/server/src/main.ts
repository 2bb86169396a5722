/**
 * Process entry: configuration, database (DATABASE_URL or embedded), migrations and seed, then one
 * server process, or WORKERS of them sharing the port (node:cluster); graceful shutdown on SIGTERM/SIGINT.
 */
import cluster from 'node:cluster';
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
import { loadEnv, type Env } from './env.js';
import { ClusterStore, RedisStore, serveRateLimitToWorkers, type RateLimitStore } from './rate-limit.js';

const log = (line: string) => process.stdout.write(`${line}\n`);

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

/** One HTTP server process; resolves to its shutdown function. */
async function serve(env: Env, url: string): Promise<() => Promise<void>> {
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
  });
  await app.listen({ port: env.PORT, host: env.HOST });
  // Stop accepting, let in-flight requests finish, then release the pool.
  return async () => {
    await app.close();
    await db.close();
  };
}

function onSignal(env: Env, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: shutting down`);
    const force = setTimeout(() => {
      console.error('shutdown timed out');
      process.exit(1);
    }, env.SHUTDOWN_TIMEOUT_MS);
    force.unref();
    stop().then(
      () => clearTimeout(force),
      (error: unknown) => {
        console.error(`shutdown failed: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

async function main(): Promise<void> {
  const env = loadEnv();
  if (cluster.isWorker) {
    // The primary prepared the database and handed its URL down. The IPC channel to the primary keeps a
    // worker alive, so once drained it leaves by itself.
    const stop = await serve(env, env.database.url!);
    onSignal(env, async () => {
      await stop();
      process.exit(0);
    });
    return;
  }

  const { url, embedded } = await prepareDatabase(env);
  if (env.WORKERS === 1) {
    const stop = await serve(env, url);
    onSignal(env, async () => {
      await stop();
      await embedded?.stop();
    });
    return;
  }

  if (env.RATE_LIMIT_MAX > 0 && !env.REDIS_URL) serveRateLimitToWorkers(cluster, env.RATE_LIMIT_WINDOW_MS);
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
  onSignal(env, async () => {
    stopping = true;
    await Promise.all(
      [...workers].map(async (worker) => {
        if (worker.isDead()) return;
        const exited = new Promise((resolve) => worker.once('exit', resolve));
        worker.process.kill('SIGTERM');
        await exited;
      }),
    );
    await embedded?.stop();
  });
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(error.message);
  else console.error(`failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
