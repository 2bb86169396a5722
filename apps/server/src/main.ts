/** Process entry: configuration, database (DATABASE_URL or embedded), migrations, listen, graceful shutdown. */
import { createDatabase, createMigrator, seed, startEmbeddedPostgres, type EmbeddedPostgres } from '@tradeos/db';
import { buildApp } from './app.js';
import { ConfigError, loadEnv } from './env.js';

async function main(): Promise<void> {
  const env = loadEnv();
  const log = (line: string) => process.stdout.write(`${line}\n`);

  let embedded: EmbeddedPostgres | undefined;
  if (!env.DATABASE_URL) {
    embedded = await startEmbeddedPostgres({ dataDir: env.EMBEDDED_PG_DIR, port: env.EMBEDDED_PG_PORT, database: 'catalog' });
    log(`embedded PostgreSQL at 127.0.0.1:${new URL(embedded.url).port} (data in ${env.EMBEDDED_PG_DIR})`);
  }
  const db = createDatabase({
    url: env.DATABASE_URL ?? embedded!.url,
    pool: { max: env.DB_POOL_MAX, acquireTimeoutMs: env.DB_POOL_ACQUIRE_TIMEOUT_MS },
    statementTimeoutMs: env.DB_STATEMENT_TIMEOUT_MS,
  });

  // The embedded database is ours to keep current; an external one only when asked.
  if (env.MIGRATE_ON_START ?? Boolean(embedded)) {
    const applied = await createMigrator(db, log).up();
    if (applied.length) log(`applied ${applied.length} migration(s)`);
  }
  if (env.SEED_ON_START ?? Boolean(embedded)) {
    const [rows] = await db.sequelize.query('SELECT NOT EXISTS (SELECT 1 FROM categories) AS empty');
    if ((rows as { empty: boolean }[])[0]?.empty) {
      const { productsInserted } = await seed(db);
      log(`seeded an empty catalog with ${productsInserted} products`);
    }
  }

  const app = buildApp({
    db,
    logger: { level: env.LOG_LEVEL },
    apiKeys: env.API_KEYS,
    requestTimeoutMs: env.REQUEST_TIMEOUT_MS,
  });
  await app.listen({ port: env.PORT, host: env.HOST });

  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      app.log.error('shutdown timed out');
      process.exit(1);
    }, env.SHUTDOWN_TIMEOUT_MS);
    // Stop accepting, let in-flight requests finish, then release the pool and the embedded server.
    await app.close();
    await db.close();
    await embedded?.stop();
    clearTimeout(force);
  };
  process.once('SIGTERM', (signal) => void shutdown(signal));
  process.once('SIGINT', (signal) => void shutdown(signal));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(error.message);
  else console.error(`failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
