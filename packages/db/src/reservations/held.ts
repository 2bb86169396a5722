/**
 * Stock reservations (contract v1.3): what every product read adds for them. A product's `reserved` is computed at
 * the read from the items still held (`held_until` after the instant), never stored; these fragments are the one SQL
 * for it, used by the product queries (`store/products.ts`) and the reservation writes alike.
 */

/**
 * The units held on the product whose id is the SQL expression `id`, at the instant `at` (an SQL expression: `now()`
 * for a read, the clock after the row locks for a write). One probe of `reservation_items_held_idx`.
 */
export const heldUnits = (id: string, at = 'now()') =>
  `(SELECT coalesce(sum(h.quantity), 0)::int FROM reservation_items h WHERE h.product_id = ${id} AND h.held_until > ${at})`;

/**
 * The ids of products whose every unit is held now: few (at most one per held item), so `in_stock` stays a condition
 * on `quantity` and an anti-join on this small set, never a sum per product of a large page.
 */
const FULLY_HELD = `(SELECT h.product_id FROM reservation_items h JOIN products q ON q.id = h.product_id
   WHERE h.held_until > now() GROUP BY h.product_id, q.quantity HAVING sum(h.quantity) >= q.quantity)`;

/** The `in_stock` filter on the product column `id` and `quantity` (v1.3: `available > 0`). */
export const inStockCondition = (id: string, quantity: string, inStock: boolean) =>
  inStock ? `${quantity} > 0 AND ${id} NOT IN ${FULLY_HELD}` : `(${quantity} = 0 OR ${id} IN ${FULLY_HELD})`;
