/** Database rows as the contract's resources: the one mapping the API's reads and the change feed's events share. */
import type { Category, Event, EventType, Product, Reservation } from '@tradeos/contract';
import type { ReservationRow } from './reservations/reads.js';
import type { CategoryRow } from './store/categories.js';
import type { ProductRow } from './store/products.js';

/** The one place a database row becomes the contract's Product. */
export function toProduct(row: ProductRow): Product {
  const reserved = row.reserved ?? 0;
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    price: Number(row.price),
    quantity: row.quantity,
    reserved,
    available: row.quantity - reserved,
    in_stock: row.quantity > reserved,
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

/**
 * The one place a reservation becomes the contract's Reservation. The status is the stored state, except that an
 * active one read at or past its `expires_at` (by the database's clock at the read) is expired.
 */
export function toReservation(row: ReservationRow): Reservation {
  const expiresAt = new Date(row.expires_at);
  const overdue = row.read_at !== undefined && new Date(row.read_at) >= expiresAt;
  return {
    id: row.id,
    status: row.state === 'active' && overdue ? 'expired' : row.state,
    reference: row.reference,
    expires_at: expiresAt.toISOString(),
    items: row.items,
    created_at: new Date(row.created_at).toISOString(),
    version: row.version,
  };
}

/** A row as PostgreSQL's `to_jsonb` writes it (an event's data, a stored idempotent create): timestamps as text. */
export type Json<R> = Omit<R, 'created_at' | 'updated_at'> & { created_at: string; updated_at: string };
export const withDates = <R>(data: Json<R>): R => ({ ...data, created_at: new Date(data.created_at), updated_at: new Date(data.updated_at) }) as R;

/** An event row as the change feed reads it (`EVENT_COLUMNS` of `events e`). */
export interface EventRow {
  id: string;
  type: EventType;
  /** Null for a reservation's event, which names its reservation in `entity_key`. */
  entity_id: number | null;
  entity_key: string | null;
  version: number;
  occurred_at: Date;
  data: Record<string, unknown> | null;
}

export const EVENT_COLUMNS = 'e.id::text AS id, e.type, e.entity_id, e.entity_key, e.version, e.occurred_at, e.data';

/**
 * An event row as the contract's Event; `data` goes through the same mapping the API's reads use. The type decides
 * the branch (its entity and its data), so a new event type fails to compile here until it is mapped.
 */
export function toEvent(row: EventRow): Event {
  const head = { id: row.id, entity_id: row.entity_id!, version: row.version, occurred_at: row.occurred_at.toISOString() };
  switch (row.type) {
    case 'reservation.created':
    case 'reservation.committed':
    case 'reservation.released':
    case 'reservation.expired':
      return { ...head, entity_id: row.entity_key!, type: row.type, entity: 'reservation', data: toReservation(row.data as unknown as ReservationRow) };
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
