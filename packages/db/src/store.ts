/**
 * The catalog's storage, as the API's port (`CatalogStore` in @tradeos/api) describes it: the queries of this
 * package, their rows mapped to the contract's resources in one place, and every failure classified.
 */
import type { Category, Product } from '@tradeos/contract';
import type { Database } from './connection.js';
import { classify, DataError } from './errors.js';
import { hasPendingMigrations } from './migrator.js';
import * as categories from './queries/categories.js';
import * as products from './queries/products.js';
import type { CategoryPatch, CategoryRow } from './queries/categories.js';
import type { PageOptions, ProductFilters, ProductPage, ProductPatch, ProductRow, QuantityChange } from './queries/products.js';

/** The one place a database row becomes the contract's Product. */
function toProduct(row: ProductRow): Product {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    price: Number(row.price),
    quantity: row.quantity,
    in_stock: row.quantity > 0,
    sku: row.sku,
    category_id: row.category_id,
    category: row.category_id === null || row.category_name === null ? null : { id: row.category_id, name: row.category_name },
    version: row.version,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

/** The one place a database row becomes the contract's Category. */
function toCategory(row: CategoryRow): Category {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    product_count: row.product_count,
    version: row.version,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

const toPage = ({ rows, total, estimated }: ProductPage) => ({ items: rows.map(toProduct), total, ...(estimated ? { estimated } : {}) });
const orNull = <R, T>(row: R | null, map: (row: R) => T): T | null => (row ? map(row) : null);

/** Rejects with a `timeout` DataError as soon as `signal` aborts (the request's deadline passed, or its client left). */
function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  let onAbort: () => void = () => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new DataError('timeout', 'The database took too long to answer', undefined, { cause: signal.reason }));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([work, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

export function createCatalogStore(db: Database) {
  /** Runs one store call: bounded by `signal`, its outcome reported to the database's availability, failures classified. */
  const run = async <T>(signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> => {
    try {
      const result = await (signal ? abortable(work(), signal) : work());
      db.report(undefined);
      return result;
    } catch (error) {
      db.report(error);
      throw classify(error);
    }
  };

  return {
    products: {
      list: (filters: ProductFilters, page: PageOptions, signal?: AbortSignal) =>
        run(signal, async () => toPage(await products.getProductsWithFilters(db, filters, page, signal))),
      search: (q: string, filters: ProductFilters, page: PageOptions, signal?: AbortSignal) =>
        run(signal, async () => toPage(await products.searchProducts(db, q, filters, page, signal))),
      byCategory: (category: string, filters: ProductFilters, page: PageOptions, signal?: AbortSignal) =>
        run(signal, async () => orNull(await products.getProductsByCategory(db, category, filters, page, signal), toPage)),
      byId: (id: number, signal?: AbortSignal) => run(signal, async () => orNull(await products.getProductById(db, id, signal), toProduct)),
      create: (fields: Parameters<typeof products.createProduct>[1], signal?: AbortSignal) => run(signal, async () => toProduct(await products.createProduct(db, fields))),
      update: (id: number, patch: ProductPatch, signal?: AbortSignal) => run(signal, async () => orNull(await products.updateProduct(db, id, patch), toProduct)),
      changeQuantity: (id: number, change: QuantityChange, signal?: AbortSignal) =>
        run(signal, async () => {
          const result = await products.updateProductQuantity(db, id, change);
          return result.status === 'ok' ? { status: result.status, product: toProduct(result.row) } : result;
        }),
      delete: (id: number, signal?: AbortSignal) => run(signal, () => products.deleteProduct(db, id)),
    },
    categories: {
      list: (signal?: AbortSignal) => run(signal, async () => (await categories.listCategories(db)).map(toCategory)),
      byId: (id: number, signal?: AbortSignal) => run(signal, async () => orNull(await categories.getCategoryById(db, id), toCategory)),
      create: (fields: Parameters<typeof categories.createCategory>[1], signal?: AbortSignal) => run(signal, async () => toCategory(await categories.createCategory(db, fields))),
      update: (id: number, patch: CategoryPatch, signal?: AbortSignal) => run(signal, async () => orNull(await categories.updateCategory(db, id, patch), toCategory)),
      delete: (id: number, signal?: AbortSignal) => run(signal, () => categories.deleteCategory(db, id)),
    },
    ping: (timeoutMs: number) => db.ping(timeoutMs),
    migrationsPending: (timeoutMs: number) => hasPendingMigrations(db, timeoutMs),
  };
}

export type CatalogStore = ReturnType<typeof createCatalogStore>;
