/** Database rows as the contract's resources: the one mapping the API's reads and the change feed's events share. */
import type { Category, Product } from '@tradeos/contract';
import type { CategoryRow } from './queries/categories.js';
import type { ProductRow } from './queries/products.js';

/** The one place a database row becomes the contract's Product. */
export function toProduct(row: ProductRow): Product {
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
export function toCategory(row: CategoryRow): Category {
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

/** A row as PostgreSQL's `to_jsonb` writes it (an event's data, a stored idempotent create): timestamps as text. */
export type Json<R> = Omit<R, 'created_at' | 'updated_at'> & { created_at: string; updated_at: string };
export const withDates = <R>(data: Json<R>): R => ({ ...data, created_at: new Date(data.created_at), updated_at: new Date(data.updated_at) }) as R;
