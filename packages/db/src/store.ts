/**
 * The catalog's storage, as the API's port (`CatalogStore` in @tradeos/api) describes it: the queries of this
 * package, their rows mapped to the contract's resources in one place, and every failure classified.
 */
import type { Category, Product } from '@tradeos/contract';
import type { Database } from './connection.js';
import { classify } from './errors.js';
import { hasPendingMigrations } from './migrator.js';
import { createCategory, deleteCategory, getCategoryById, listCategories, updateCategory, type CategoryRow } from './queries/categories.js';
import {
  createProduct,
  deleteProduct,
  getProductById,
  getProductsByCategory,
  getProductsWithFilters,
  searchProducts,
  updateProduct,
  updateProductQuantity,
  type PageOptions,
  type ProductFilters,
  type ProductPage,
  type ProductRow,
  type QuantityChange,
} from './queries/products.js';

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
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

function toCategory(row: CategoryRow): Category {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    product_count: row.product_count,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

const toPage = ({ rows, total }: ProductPage) => ({ items: rows.map(toProduct), total });
const orNull = <R, T>(row: R | null, map: (row: R) => T): T | null => (row ? map(row) : null);

/** Wraps every method of `methods` so that what it throws arrives classified. */
function classified<T extends Record<string, (...args: never[]) => Promise<unknown>>>(methods: T): T {
  return Object.fromEntries(
    Object.entries(methods).map(([name, method]) => [
      name,
      async (...args: never[]) => {
        try {
          return await method(...args);
        } catch (error) {
          throw classify(error);
        }
      },
    ]),
  ) as T;
}

export function createCatalogStore(db: Database) {
  return {
    products: classified({
      list: async (filters: ProductFilters, page: PageOptions) => toPage(await getProductsWithFilters(db, filters, page)),
      search: async (q: string, filters: ProductFilters, page: PageOptions) => toPage(await searchProducts(db, q, filters, page)),
      byCategory: async (category: string, filters: ProductFilters, page: PageOptions) => orNull(await getProductsByCategory(db, category, filters, page), toPage),
      byId: async (id: number) => orNull(await getProductById(db, id), toProduct),
      create: async (fields: Parameters<typeof createProduct>[1]) => toProduct(await createProduct(db, fields)),
      update: async (id: number, patch: Parameters<typeof updateProduct>[2]) => orNull(await updateProduct(db, id, patch), toProduct),
      changeQuantity: async (id: number, change: QuantityChange) => {
        const result = await updateProductQuantity(db, id, change);
        return result.status === 'ok' ? { status: result.status, product: toProduct(result.row) } : result;
      },
      delete: (id: number) => deleteProduct(db, id),
    }),
    categories: classified({
      list: async () => (await listCategories(db)).map(toCategory),
      byId: async (id: number) => orNull(await getCategoryById(db, id), toCategory),
      create: async (fields: Parameters<typeof createCategory>[1]) => toCategory(await createCategory(db, fields)),
      update: async (id: number, patch: Parameters<typeof updateCategory>[2]) => orNull(await updateCategory(db, id, patch), toCategory),
      delete: (id: number) => deleteCategory(db, id),
    }),
    ping: (timeoutMs: number) => db.ping(timeoutMs),
    migrationsPending: (timeoutMs: number) => hasPendingMigrations(db, timeoutMs),
  };
}

export type CatalogStore = ReturnType<typeof createCatalogStore>;
