export { createDatabase, models, type Availability, type Database, type DatabaseOptions, type NamedStatement, type PoolOptions } from './connection.js';
export { startEmbeddedPostgres, freePort, type EmbeddedPostgres, type EmbeddedPostgresOptions } from './embedded.js';
export {
  ConfigError,
  databaseEnv,
  databaseOptions,
  openDatabaseServer,
  parseEnv,
  toDatabaseConfig,
  type DatabaseConfig,
  type DatabaseServer,
} from './config.js';
export { classify, DataError, describeDatabaseError, isConnectionError, isCredentialError, type DataErrorKind } from './errors.js';
export { createCatalogStore, type CatalogStore, type KeyedWrites } from './store.js';
export { createChangeFeed, type ChangeFeed, type FeedOptions, type FeedPage, type FeedQuery } from './feed.js';
export { createMigrator, hasPendingMigrations, MIGRATIONS_TABLE, type Migration, type MigrationContext, type MigrationStatus, type Migrator } from './migrator.js';
export { seed, seedSynthetic, type SeedResult, type SyntheticOptions } from './seed.js';
export { Category } from './models/category.js';
export { Product } from './models/product.js';
export * from './queries/products.js';
export * from './queries/categories.js';
export { upsertProducts, type UpsertOutcome } from './queries/upsert.js';
export { IDEMPOTENCY_RETENTION, once, purgeIdempotencyKeys, type IdempotencyRequest, type Once, type StoredResponse } from './queries/idempotency.js';
