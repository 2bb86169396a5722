/**
 * Contract v1.2: bulk upsert by sku, set-based. One INSERT … ON CONFLICT (sku) DO UPDATE statement writes every
 * item (atomic without BEGIN/COMMIT); the version trigger and the change feed fire only for rows it really changed.
 */
import type { BulkStatus, ProductBulkItem } from '@tradeos/contract';
import { QueryTypes, type Transaction } from 'sequelize';
import type { Database } from '../connection.js';
import { DataError } from '../errors.js';

export interface UpsertOutcome {
  sku: string;
  id: number;
  status: BulkStatus;
}

// The fields an item may leave out: an update keeps the product's value, a create takes the column's default.
const OPTIONAL = ['description', 'quantity', 'category_id'] as const;

/** Each item's category as an id: `category` (a name, any letter case) looked up; an unknown one is a 422 naming the item. */
async function categoryIds(db: Database, items: ProductBulkItem[], transaction?: Transaction): Promise<(number | null | undefined)[]> {
  const names = [...new Set(items.flatMap((item) => (item.category === undefined ? [] : [item.category])))];
  const ids = [...new Set(items.flatMap((item) => (typeof item.category_id === 'number' ? [item.category_id] : [])))];
  if (!names.length && !ids.length) return items.map((item) => item.category_id);
  // Matched in SQL, so "any letter case" means what PostgreSQL's lower() means, as everywhere else.
  const found = await db.sequelize.query<{ id: number; asked: string | null }>(
    `SELECT c.id, n.asked FROM categories c JOIN unnest($1::text[]) AS n(asked) ON lower(c.name) = lower(n.asked)
     UNION ALL SELECT c.id, NULL FROM categories c WHERE c.id = ANY($2::int[])`,
    { bind: [names, ids], type: QueryTypes.SELECT, transaction },
  );
  const byName = new Map(found.flatMap(({ id, asked }) => (asked === null ? [] : [[asked, id] as const])));
  const known = new Set(found.filter(({ asked }) => asked === null).map(({ id }) => id));
  return items.map((item, index) => {
    if (item.category !== undefined) {
      const id = byName.get(item.category);
      if (id === undefined) throw new DataError('invalid', `no category named "${item.category}" exists`, ['items', index, 'category']);
      return id;
    }
    if (typeof item.category_id === 'number' && !known.has(item.category_id)) {
      throw new DataError('invalid', 'no category with this id exists', ['items', index, 'category_id']);
    }
    return item.category_id;
  });
}

/**
 * Creates or updates every item by sku in one statement and says what happened to each, in input order. Rows are
 * written in sku order, so overlapping bulks running at once lock their rows in the same order and cannot deadlock.
 * An item equal to its product is not updated at all (`unchanged`: no new version, no event).
 */
export async function upsertProducts(db: Database, items: ProductBulkItem[], transaction?: Transaction): Promise<UpsertOutcome[]> {
  const categories = await categoryIds(db, items, transaction);
  const rows = items.map((item, ord) => ({ ...item, category: undefined, price: item.price.toFixed(2), category_id: categories[ord], ord }));
  // Per sku, the optional fields the item gave: jsonb_exists() on this array decides keep or overwrite.
  const given = Object.fromEntries(rows.map((row) => [row.sku, OPTIONAL.filter((field) => row[field] !== undefined)]));
  const isGiven = (field: string) => `jsonb_exists($2::jsonb -> EXCLUDED.sku, '${field}')`;
  const set = OPTIONAL.map((field) => `${field} = CASE WHEN ${isGiven(field)} THEN EXCLUDED.${field} ELSE p.${field} END`).join(', ');
  const differs = OPTIONAL.map((field) => `(${isGiven(field)} AND p.${field} IS DISTINCT FROM EXCLUDED.${field})`).join(' OR ');
  const outcomes = await db.sequelize.query<{ sku: string; id: number | null; status: BulkStatus }>(
    `WITH input AS (
       SELECT * FROM jsonb_to_recordset($1::jsonb)
         AS i(ord int, sku text, name text, price numeric, description text, quantity int, category_id int)
     ), changed AS (
       INSERT INTO products AS p (sku, name, price, description, quantity, category_id)
       SELECT sku, name, price, description, coalesce(quantity, 0), category_id FROM input ORDER BY sku
       ON CONFLICT (sku) DO UPDATE SET name = EXCLUDED.name, price = EXCLUDED.price, ${set}
       WHERE p.name <> EXCLUDED.name OR p.price <> EXCLUDED.price OR ${differs}
       RETURNING p.id, p.sku, (p.xmax = 0) AS created
     )
     SELECT i.sku, coalesce(c.id, e.id) AS id,
            CASE WHEN c.id IS NULL THEN 'unchanged' WHEN c.created THEN 'created' ELSE 'updated' END AS status
     FROM input i LEFT JOIN changed c ON c.sku = i.sku LEFT JOIN products e ON e.sku = i.sku
     ORDER BY i.ord`,
    { bind: [JSON.stringify(rows), JSON.stringify(given)], type: QueryTypes.SELECT, transaction },
  );
  // An unchanged row committed by a concurrent bulk after this statement's snapshot has no id here: read it now.
  const missing = outcomes.filter((outcome) => outcome.id === null).map((outcome) => outcome.sku);
  if (!missing.length) return outcomes as UpsertOutcome[];
  const found = await db.sequelize.query<{ id: number; sku: string }>('SELECT id, sku FROM products WHERE sku = ANY($1::text[])', {
    bind: [missing],
    type: QueryTypes.SELECT,
    transaction,
  });
  const ids = new Map(found.map(({ id, sku }) => [sku, id]));
  return outcomes.map((outcome) => ({ ...outcome, id: outcome.id ?? ids.get(outcome.sku)! }));
}
