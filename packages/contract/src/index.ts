/** The catalog contract: schemas, operations, the error table. Imports zod alone, so clients can depend on it. */
export * from './common.js';
export * from './errors.js';
export * from './health.js';
export * from './category.js';
export * from './product.js';
export * from './search.js';
export * from './reservation.js';
export * from './event.js';
export * from './operations.js';
export * from './version.js';
export { READ_ONLY_FIELDS } from './fields.js';
