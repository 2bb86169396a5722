export {
  createDatabase,
  models,
  type Availability,
  type Database,
  type DatabaseOptions,
  type NamedStatement,
  type PoolOptions,
  type PoolStats,
  type ReplicaStatus,
} from './connection/database.js';
export { formatPosition, parsePosition, withPositions, type Position, type PositionContext } from './connection/positions.js';
export { startEmbeddedPostgres, freePort, type EmbeddedPostgres, type EmbeddedPostgresOptions } from './ops/embedded.js';
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
export { within } from './connection/health.js';
export { createCatalogStore, type CatalogStore, type KeyedWrites } from './store/store.js';
export { createChangeFeed, type ChangeFeed, type FeedOptions, type FeedPage, type FeedQuery } from './feed/feed.js';
export { createMigrator, hasPendingMigrations, MIGRATIONS_TABLE, type Migration, type MigrationContext, type MigrationStatus, type Migrator } from './schema/migrator.js';
export { seed, seedSynthetic, type SeedResult, type SyntheticOptions } from './ops/seed.js';
export { Category } from './schema/models/category.js';
export { Product } from './schema/models/product.js';
export { Reservation } from './schema/models/reservation.js';
export { ReservationItem } from './schema/models/reservation-item.js';
export * from './store/products.js';
export * from './store/categories.js';
export { upsertProducts, type UpsertOutcome } from './store/upsert.js';
export { IDEMPOTENCY_RETENTION, once, purgeIdempotencyKeys, type IdempotencyRequest, type Once, type StoredResponse } from './store/idempotency.js';
