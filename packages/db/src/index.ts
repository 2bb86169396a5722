export { createDatabase, models, type Database, type DatabaseOptions, type PoolOptions } from './connection.js';
export { startEmbeddedPostgres, freePort, defaultDataDir, DEFAULT_EMBEDDED_PORT, type EmbeddedPostgres, type EmbeddedPostgresOptions } from './embedded.js';
export { isConnectionError } from './errors.js';
export { createMigrator, MIGRATIONS_TABLE, type Migration, type MigrationContext, type MigrationStatus, type Migrator } from './migrator.js';
export { seed, seedSynthetic, type SeedResult, type SyntheticOptions } from './seed.js';
export { Category } from './models/category.js';
export { Product } from './models/product.js';
export * from './queries/products.js';
export * from './queries/categories.js';
