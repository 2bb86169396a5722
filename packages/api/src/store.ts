/**
 * The port the router reads and writes through: what the catalog needs from storage, in the contract's own
 * types. The db package implements it; tests may hand in any other implementation. Failures a store reports
 * are `StoreError`s, classified by kind, so the router maps them to the contract without knowing the driver.
 */
import type { Category, CategoryCreate, Product, ProductCreate, ProductSortKey } from '@tradeos/contract';

export interface ProductFilters {
  categoryId?: number;
  /** Category name, any letter case. */
  category?: string;
  minPrice?: number;
  maxPrice?: number;
  inStock?: boolean;
  /** Case-insensitive substring of the name; `%`, `_` and `\` match themselves. */
  q?: string;
}

export interface PageOptions {
  skip: number;
  limit: number;
  /** Omitted: `created_at` for lists, relevance for searches. */
  sortBy?: ProductSortKey;
  order: 'asc' | 'desc';
}

export interface Page<T> {
  items: T[];
  total: number;
}

export type ProductPatch = Partial<ProductCreate>;
export type CategoryPatch = Partial<CategoryCreate>;
export type QuantityChange = { delta: number } | { quantity: number };
export type QuantityResult = { status: 'ok'; product: Product } | { status: 'not_found' } | { status: 'insufficient'; quantity: number };

export interface ProductStore {
  list(filters: ProductFilters, page: PageOptions): Promise<Page<Product>>;
  /** Like `list`; without `page.sortBy`: exact name, then names starting with `q`, then the rest. */
  search(q: string, filters: ProductFilters, page: PageOptions): Promise<Page<Product>>;
  /** Null when no category has this name (any letter case). */
  byCategory(category: string, filters: ProductFilters, page: PageOptions): Promise<Page<Product> | null>;
  byId(id: number): Promise<Product | null>;
  create(fields: ProductCreate): Promise<Product>;
  /** Null when the product does not exist. */
  update(id: number, patch: ProductPatch): Promise<Product | null>;
  /** One atomic change: never takes the stock below 0. */
  changeQuantity(id: number, change: QuantityChange): Promise<QuantityResult>;
  /** False when the product did not exist. */
  delete(id: number): Promise<boolean>;
}

export interface CategoryStore {
  list(): Promise<Category[]>;
  byId(id: number): Promise<Category | null>;
  create(fields: CategoryCreate): Promise<Category>;
  update(id: number, patch: CategoryPatch): Promise<Category | null>;
  delete(id: number): Promise<boolean>;
}

export interface CatalogStore {
  products: ProductStore;
  categories: CategoryStore;
  /** True when the database answers within `timeoutMs`; never throws. */
  ping(timeoutMs: number): Promise<boolean>;
  /** True when migrations this build knows are not applied yet (false when that cannot be told in `timeoutMs`). */
  migrationsPending(timeoutMs: number): Promise<boolean>;
}

export const STORE_ERROR_KINDS = ['unique_violation', 'missing_reference', 'in_use', 'out_of_range', 'timeout', 'unavailable'] as const;
export type StoreErrorKind = (typeof STORE_ERROR_KINDS)[number];

/** A failure a store classified: `field` names the input field at fault, `message` is safe to show a client. */
export interface StoreError extends Error {
  kind: StoreErrorKind;
  field?: string;
}

export function isStoreError(error: unknown): error is StoreError {
  return error instanceof Error && STORE_ERROR_KINDS.includes((error as Partial<StoreError>).kind as StoreErrorKind);
}
