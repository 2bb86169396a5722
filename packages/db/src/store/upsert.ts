/**
 * Contract v1.2: bulk upsert by sku, set-based. One INSERT … ON CONFLICT (sku) DO UPDATE statement writes every
 * item (atomic without BEGIN/COMMIT); the version trigger and the change feed fire only for rows it really changed.
 */
import { ProductBulkItem, type BulkStatus } from '@tradeos/contract';
import { QueryTypes, type Transaction } from 'sequelize';
import type { Database } from '../connection/database.js';
import { DataError } from '../errors.js';

export interface UpsertOutcome {
  sku: string;
  id: number;
  status: BulkStatus;
}

interface ItemColumn {
  /** The contract's field. */
  field: string;
  /** Its column's name, the key of the item's JSON row. */
  name: string;
  /** The same, quoted. */
  column: string;
  /** An item may leave it out: an update keeps the product's value, a create takes the model's default. */
  optional: boolean;
  /** The model's default as an SQL literal, if it has one. */
  fallback: string | undefined;
}

const columnsCache = new WeakMap<object, ItemColumn[]>();

/**
 * The columns a bulk item writes: the fields of the contract's item that are attributes of the model (its
 * `category`, a name, arrives as `category_id`), with what the model says of each. A new product column the
 * contract's item takes is written here without another list to keep.
 */
function itemColumns(db: Database): ItemColumn[] {
  let cached = columnsCache.get(db.Product);
  if (!cached) {
    const attributes = db.Product.getAttributes() as Record<string, { field?: string; defaultValue?: unknown }>;
    const quote = (name: string) => db.sequelize.getQueryInterface().quoteIdentifier(name);
    cached = Object.entries(ProductBulkItem.shape)
      .filter(([field]) => field in attributes)
      .map(([field, schema]) => {
        const { field: name = field, defaultValue } = attributes[field]!;
        const fallback = defaultValue === undefined ? undefined : db.sequelize.escape(defaultValue as string | number);
        return { field, name, column: quote(name), optional: schema.safeParse(undefined).success, fallback };
      });
    columnsCache.set(db.Product, cached);
  }
  return cached;
}

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
  const columns = itemColumns(db);
  const value = (item: ProductBulkItem, index: number, field: string): unknown =>
    field === 'category_id' ? categories[index] : field === 'price' ? item.price.toFixed(2) : item[field as keyof ProductBulkItem];
  // Each item as a row of its columns (money as exact decimal text); the input order is the row's ordinality.
  const rows = items.map((item, index) => Object.fromEntries(columns.map(({ field, name }) => [name, value(item, index, field)])));
  // Per sku, the optional fields the item gave: jsonb_exists() on this array decides keep or overwrite.
  const given = Object.fromEntries(
    items.map((item, index) => [item.sku, columns.filter(({ field, optional }) => optional && value(item, index, field) !== undefined).map(({ field }) => field)]),
  );
  const isGiven = (field: string) => `jsonb_exists($2::jsonb -> EXCLUDED.sku, '${field}')`;
  const written = columns.filter(({ field }) => field !== 'sku');
  const set = written
    .map(({ field, column, optional: keep }) => (keep ? `${column} = CASE WHEN ${isGiven(field)} THEN EXCLUDED.${column} ELSE p.${column} END` : `${column} = EXCLUDED.${column}`))
    .join(', ');
  const differs = written.map(({ field, column, optional: keep }) => `(${keep ? `${isGiven(field)} AND ` : ''}p.${column} IS DISTINCT FROM EXCLUDED.${column})`).join(' OR ');
  const outcomes = await db.sequelize.query<{ sku: string; id: number | null; status: BulkStatus }>(
    `WITH input AS (
       SELECT * FROM jsonb_populate_recordset(NULL::products, $1::jsonb) WITH ORDINALITY AS i
     ), changed AS (
       INSERT INTO products AS p (${columns.map(({ column }) => column).join(', ')})
       SELECT ${columns.map(({ column, fallback }) => (fallback === undefined ? column : `coalesce(${column}, ${fallback})`)).join(', ')} FROM input ORDER BY sku
       ON CONFLICT (sku) DO UPDATE SET ${set}
       WHERE ${differs}
       RETURNING p.id, p.sku, (p.xmax = 0) AS created
     )
     SELECT i.sku, coalesce(c.id, e.id) AS id,
            CASE WHEN c.id IS NULL THEN 'unchanged' WHEN c.created THEN 'created' ELSE 'updated' END AS status
     FROM input i LEFT JOIN changed c ON c.sku = i.sku LEFT JOIN products e ON e.sku = i.sku
     ORDER BY i.ordinality`,
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
