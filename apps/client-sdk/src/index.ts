/**
 * The catalog SDK's whole public surface: the client factory, typed errors, and the contract's types
 * re-exported from @tradeos/api (types only, so the SDK never loads the server's runtime).
 */
export { createCatalogClient, type CatalogClient, type CatalogClientOptions, type CatalogHeaders } from './client.js';
export { errorCode, isCatalogError, type CatalogClientError, type CatalogErrorCode, type CatalogErrorData } from './errors.js';
export type { ApiError, RouterInputs, RouterOutputs } from './types.js';
export type {
  AppRouter,
  Category,
  CategoryCreate,
  CategoryUpdate,
  Issue,
  Product,
  ProductByCategoryQuery,
  ProductCreate,
  ProductListQuery,
  ProductPage,
  ProductQuantityChange,
  ProductSearchQuery,
  ProductUpdate,
} from '@tradeos/api';
