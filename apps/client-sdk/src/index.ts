/**
 * The catalog SDK's whole public surface: the client factory, typed errors, and the contract's types (types
 * only: the published package bundles their declarations and needs nothing of this repository at run time).
 */
export {
  createCatalogClient,
  type CallOptions,
  type CatalogClient,
  type CatalogClientOptions,
  type CatalogHeaders,
  type CatalogHeaderValues,
  type EventSourceClass,
  type MutationOptions,
  type SubscriptionHandlers,
} from './client.js';
export { iterate, type PagedQuery } from './pages.js';
export { errorCode, isCatalogError, type CatalogClientError, type CatalogErrorCode, type CatalogErrorData } from './errors.js';
export type { AppRouter } from '@tradeos/api';
export type * from './types.js';
