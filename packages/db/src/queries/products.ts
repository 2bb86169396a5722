/**
 * Product queries: hand-written SQL over the shared Sequelize connection, every value a bound parameter,
 * every identifier taken from a fixed map. The API layer maps rows to responses and errors to statuses.
 */
import type { ProductSortKey } from '@tradeos/contract';
import type { Database } from '../connection.js';

export interface ProductRow {
  id: number;
  name: string;
  description: string | null;
  /** NUMERIC(10,2) as PostgreSQL prints it, e.g. "74990.50". */
  price: string;
  quantity: number;
  sku: string | null;
  category_id: number | null;
  category_name: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface ProductFields {
  name: string;
  description: string | null;
  price: number;
  quantity: number;
  sku: string | null;
  category_id: number | null;
}

export type ProductInsert = Pick<ProductFields, 'name' | 'price'> & Partial<ProductFields>;
export type ProductPatch = Partial<ProductFields>;

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

export interface ProductPage {
  rows: ProductRow[];
  total: number;
}

const COLUMNS = `
  SELECT p.id, p.name, p.description, p.price, p.quantity, p.sku, p.category_id, c.name AS category_name,
         p.created_at, p.updated_at`;
const SELECT = `${COLUMNS} FROM products p LEFT JOIN categories c ON c.id = p.category_id`;

// The only column names that ever reach ORDER BY or SET: keys of these maps, never input.
const SORT_COLUMNS: Record<ProductSortKey, string> = {
  id: 'p.id',
  name: 'p.name',
  price: 'p.price',
  quantity: 'p.quantity',
  created_at: 'p.created_at',
  updated_at: 'p.updated_at',
};
const FIELD_COLUMNS: Record<keyof ProductFields, string> = {
  name: 'name',
  description: 'description',
  price: 'price',
  quantity: 'quantity',
  sku: 'sku',
  category_id: 'category_id',
};

export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`);
}

/** Collects WHERE conditions as fixed SQL fragments with numbered placeholders for their values. */
class Conditions {
  readonly binds: unknown[] = [];
  private readonly parts: string[] = [];
  private filterCount = 0;

  bind(value: unknown): string {
    this.binds.push(value);
    return `$${this.binds.length}`;
  }

  add(sql: string): void {
    this.parts.push(sql);
  }

  /** Marks the end of the filter values: what is bound later (ordering, paging) the count query does not see. */
  seal(): this {
    this.filterCount = this.binds.length;
    return this;
  }

  get filterBinds(): unknown[] {
    return this.binds.slice(0, this.filterCount);
  }

  get where(): string {
    return this.parts.length ? `WHERE ${this.parts.join(' AND ')}` : '';
  }
}

function filterConditions(filters: ProductFilters): Conditions {
  const where = new Conditions();
  if (filters.categoryId !== undefined) where.add(`p.category_id = ${where.bind(filters.categoryId)}`);
  if (filters.category !== undefined) {
    where.add(`p.category_id IN (SELECT id FROM categories WHERE lower(name) = lower(${where.bind(filters.category)}))`);
  }
  if (filters.minPrice !== undefined) where.add(`p.price >= ${where.bind(filters.minPrice)}`);
  if (filters.maxPrice !== undefined) where.add(`p.price <= ${where.bind(filters.maxPrice)}`);
  if (filters.inStock !== undefined) where.add(filters.inStock ? 'p.quantity > 0' : 'p.quantity = 0');
  if (filters.q !== undefined) where.add(`p.name ILIKE ${where.bind(`%${escapeLike(filters.q)}%`)}`);
  return where.seal();
}

async function page(db: Database, where: Conditions, orderBy: string, options: PageOptions): Promise<ProductPage> {
  const limit = where.bind(options.limit);
  const offset = where.bind(options.skip);
  const [rows, counted] = await Promise.all([
    // The page is chosen from products alone; only its rows are joined to their category.
    db.query<ProductRow>(
      `${COLUMNS} FROM (SELECT p.* FROM products p ${where.where} ORDER BY ${orderBy} LIMIT ${limit} OFFSET ${offset}) p
       LEFT JOIN categories c ON c.id = p.category_id ORDER BY ${orderBy}`,
      where.binds,
    ),
    db.query<{ total: number }>(`SELECT count(*)::int AS total FROM products p ${where.where}`, where.filterBinds),
  ]);
  return { rows, total: counted[0]?.total ?? 0 };
}

function sortOrder(sortBy: ProductSortKey, order: 'asc' | 'desc'): string {
  const direction = order === 'asc' ? 'ASC' : 'DESC';
  // Ties broken by id in the same direction: a total order, so paging never repeats or drops a row.
  return `${SORT_COLUMNS[sortBy]} ${direction}, p.id ${direction}`;
}

export function getProductsWithFilters(db: Database, filters: ProductFilters, options: PageOptions): Promise<ProductPage> {
  return page(db, filterConditions(filters), sortOrder(options.sortBy ?? 'created_at', options.order), options);
}

/** Like the list, but without an explicit sort: exact name first, then names starting with `q`, then the rest. */
export function searchProducts(db: Database, q: string, filters: ProductFilters, options: PageOptions): Promise<ProductPage> {
  const where = filterConditions({ ...filters, q });
  if (options.sortBy) return page(db, where, sortOrder(options.sortBy, options.order), options);
  const exact = where.bind(q);
  const prefix = where.bind(`${escapeLike(q)}%`);
  const relevance = `CASE WHEN lower(p.name) = lower(${exact}) THEN 0 WHEN p.name ILIKE ${prefix} THEN 1 ELSE 2 END`;
  return page(db, where, `${relevance}, p.name, p.id`, options);
}

/** Products of the category with this name (any letter case); null when no such category exists. */
export async function getProductsByCategory(
  db: Database,
  category: string,
  filters: ProductFilters,
  options: PageOptions,
): Promise<ProductPage | null> {
  const [found] = await db.query<{ id: number }>('SELECT id FROM categories WHERE lower(name) = lower($1)', [category]);
  if (!found) return null;
  return getProductsWithFilters(db, { ...filters, categoryId: found.id }, options);
}

export async function getProductById(db: Database, id: number): Promise<ProductRow | null> {
  const [row] = await db.query<ProductRow>(`${SELECT} WHERE p.id = $1`, [id]);
  return row ?? null;
}

/** Runs a statement that returns product rows (`RETURNING *`) and joins the category name onto them. */
async function returning(db: Database, statement: string, binds: unknown[]): Promise<ProductRow | null> {
  const [row] = await db.query<ProductRow>(
    `WITH p AS (${statement} RETURNING *) ${COLUMNS} FROM p LEFT JOIN categories c ON c.id = p.category_id`,
    binds,
  );
  return row ?? null;
}

export async function createProduct(db: Database, fields: ProductInsert): Promise<ProductRow> {
  const keys = (Object.keys(FIELD_COLUMNS) as (keyof ProductFields)[]).filter((key) => fields[key] !== undefined);
  const columns = keys.map((key) => FIELD_COLUMNS[key]).join(', ');
  const values = keys.map((_, i) => `$${i + 1}`).join(', ');
  const row = await returning(db, `INSERT INTO products (${columns}) VALUES (${values})`, keys.map((key) => fields[key]));
  if (!row) throw new Error('INSERT returned no row');
  return row;
}

/** Sets the given fields; null when the product does not exist. */
export async function updateProduct(db: Database, id: number, patch: ProductPatch): Promise<ProductRow | null> {
  const keys = (Object.keys(FIELD_COLUMNS) as (keyof ProductFields)[]).filter((key) => patch[key] !== undefined);
  if (!keys.length) return getProductById(db, id);
  const set = keys.map((key, i) => `${FIELD_COLUMNS[key]} = $${i + 2}`).join(', ');
  return returning(db, `UPDATE products SET ${set} WHERE id = $1`, [id, ...keys.map((key) => patch[key])]);
}

export async function deleteProduct(db: Database, id: number): Promise<boolean> {
  return (await db.query('DELETE FROM products WHERE id = $1 RETURNING id', [id])).length > 0;
}

export type QuantityChange = { delta: number } | { quantity: number };
export type QuantityResult = { status: 'ok'; row: ProductRow } | { status: 'not_found' } | { status: 'insufficient'; quantity: number };

/**
 * One atomic statement: the row lock taken by UPDATE serializes concurrent changes, and the guard in the
 * WHERE clause is re-checked on the latest row, so parallel decrements can never take stock below zero.
 */
export async function updateProductQuantity(db: Database, id: number, change: QuantityChange): Promise<QuantityResult> {
  const row =
    'delta' in change
      ? await returning(db, 'UPDATE products SET quantity = quantity + $2 WHERE id = $1 AND quantity + $2 >= 0', [id, change.delta])
      : await returning(db, 'UPDATE products SET quantity = $2 WHERE id = $1', [id, change.quantity]);
  if (row) return { status: 'ok', row };
  const current = await getProductById(db, id);
  return current ? { status: 'insufficient', quantity: current.quantity } : { status: 'not_found' };
}
