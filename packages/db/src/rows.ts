/** Database rows as the contract's resources: the one mapping the API's reads and the change feed's events share. */
import type { Category, Event, EventType, Product } from '@tradeos/contract';
import type { CategoryRow } from './store/categories.js';
import type { ProductRow } from './store/products.js';

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

/** An event row as the change feed reads it (`EVENT_COLUMNS` of `events e`). */
export interface EventRow {
  id: string;
  type: EventType;
  entity_id: number;
  version: number;
  occurred_at: Date;
  data: Record<string, unknown> | null;
}

export const EVENT_COLUMNS = 'e.id::text AS id, e.type, e.entity_id, e.version, e.occurred_at, e.data';

/**
 * An event row as the contract's Event; `data` goes through the same mapping the API's reads use. The type decides
 * the branch (its entity and its data), so a new event type fails to compile here until it is mapped.
 */
export function toEvent(row: EventRow): Event {
  const head = { id: row.id, entity_id: row.entity_id, version: row.version, occurred_at: row.occurred_at.toISOString() };
  switch (row.type) {
    case 'product.created':
    case 'product.updated':
      return { ...head, type: row.type, entity: 'product', data: toProduct(withDates(row.data as Json<ProductRow>)) };
    case 'product.deleted':
      return { ...head, type: row.type, entity: 'product', data: null };
    case 'category.created':
    case 'category.updated':
      return { ...head, type: row.type, entity: 'category', data: toCategory(withDates(row.data as Json<CategoryRow>)) };
    case 'category.deleted':
      return { ...head, type: row.type, entity: 'category', data: null };
  }
}
