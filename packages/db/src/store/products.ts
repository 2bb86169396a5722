/**
 * Product queries. Writes are single statements (see `write`, `createProductOnce`), the bulk upsert a Sequelize
 * transaction; the hot reads (a page, a search, one product) are single SQL statements on the database's own
 * pool; every value a bound parameter, every column name taken from the model's attributes.
 */
import { createHash } from 'node:crypto';
import { EXACT_COUNT_LIMIT, INT32_MAX, type CountMode, type PageOptions, type ProductCreate, type ProductFilters, type ProductSortKey } from '@tradeos/contract';
import type { InferAttributes } from 'sequelize';
import type { Database, NamedStatement } from '../connection/database.js';
import { DataError, versionMismatch } from '../errors.js';
import { decodeCursor, encodeCursor, fingerprint, type CursorValue } from './cursor.js';
import { dropExpiredKey, IDEMPOTENCY_RETENTION, inFlight, keyLock, keyStored, replay, type IdempotencyRequest, type Once, type StoredKey } from './idempotency.js';
import type { Product } from '../schema/models/product.js';
import { searchWords, type WordsFilter } from '../search/ranked.js';
import { substringRanks } from '../search/substring.js';
import { heldUnits, inStockCondition } from '../reservations/held.js';

type ProductAttributes = InferAttributes<Product>;

/**
 * A product as the queries return it: the model's attributes, price as exact decimal text, its category's name, and
 * (v1.3) the units reserved at the read (absent where none can be: a row just created).
 */
export type ProductRow = ProductAttributes & { category_name: string | null; reserved?: number };

export type ProductPatch = Partial<ProductCreate>;

export type { PageOptions, ProductFilters };

export interface ProductPage {
  rows: ProductRow[];
  /** Null when counting was not asked for. */
  total: number | null;
  /** Present and true when `total` is the planner's estimate. */
  estimated?: true;
  /** Contract v1.2: the cursor of the next page; null on the last. */
  nextCursor: string | null;
}

/** A page before its cursor is known. */
type Counted = Omit<ProductPage, 'nextCursor'>;

// Every sort key of the contract is an attribute of the model: the type checker refuses one that is not.
const sortAttribute = (key: ProductSortKey): keyof ProductAttributes => key;

interface Sql {
  /** The quoted column of an attribute of the model, as Sequelize quotes it. */
  field: (attribute: keyof ProductAttributes) => string;
  /** The same column qualified by the alias `p`. */
  column: (attribute: keyof ProductAttributes) => string;
  /** Every stored attribute as `p."column" AS "attribute"`. */
  columns: string;
}

const sqlCache = new WeakMap<object, Sql>();

/** Column names as the model maps them, computed once per model. */
export function sql(db: Database): Sql {
  let cached = sqlCache.get(db.Product);
  if (!cached) {
    const quote = (name: string) => db.sequelize.getQueryInterface().quoteIdentifier(name);
    const attributes = db.Product.getAttributes();
    const field = (attribute: keyof ProductAttributes) => quote(attributes[attribute]?.field ?? attribute);
    const column = (attribute: keyof ProductAttributes) => `p.${field(attribute)}`;
    const columns = (Object.keys(attributes) as (keyof ProductAttributes)[]).map((attribute) => `${column(attribute)} AS ${quote(attribute)}`).join(', ');
    cached = { field, column, columns };
    sqlCache.set(db.Product, cached);
  }
  return cached;
}

export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`);
}

/** WHERE conditions as fixed SQL fragments with numbered placeholders; values only ever travel as binds. */
export class Conditions {
  readonly binds: unknown[] = [];
  private readonly parts: string[] = [];

  bind(value: unknown): string {
    this.binds.push(value);
    return `$${this.binds.length}`;
  }

  add(sql: string): void {
    this.parts.push(sql);
  }

  get where(): string {
    return this.parts.length ? `WHERE ${this.parts.join(' AND ')}` : '';
  }

  private readonly after: string[] = [];

  /** Contract v1.2: a keyset condition (rows after a cursor), for the page only: the total still counts every match. */
  keyset(sql: string): void {
    this.after.push(sql);
  }

  get pageWhere(): string {
    const parts = [...this.parts, ...this.after];
    return parts.length ? `WHERE ${parts.join(' AND ')}` : '';
  }
}

/**
 * A name pattern's condition on `product_search` (alias `s`): ILIKE as a UTF-8 database folds case. A name holds `q`
 * at its start (a range of the prefix index) or after its first letter (the trigram index of the rest): a bitmap OR.
 */
const nameMatches = (where: Conditions, q: string) =>
  `(s.name_lower LIKE lower(${where.bind(`${escapeLike(q)}%`)}) OR substr(s.name_lower, 2) LIKE lower(${where.bind(`%${escapeLike(q)}%`)}))`;

export function filterConditions(db: Database, filters: ProductFilters & WordsFilter): Conditions {
  const { column } = sql(db);
  const where = new Conditions();
  if (filters.categoryId !== undefined) where.add(`${column('category_id')} = ${where.bind(filters.categoryId)}`);
  if (filters.category !== undefined) {
    where.add(`${column('category_id')} IN (SELECT id FROM categories WHERE lower(name) = lower(${where.bind(filters.category)}))`);
  }
  if (filters.minPrice !== undefined) where.add(`${column('price')} >= ${where.bind(filters.minPrice)}`);
  if (filters.maxPrice !== undefined) where.add(`${column('price')} <= ${where.bind(filters.maxPrice)}`);
  if (filters.inStock !== undefined) where.add(inStockCondition(column('id'), column('quantity'), filters.inStock));
  // A name filter matches through the narrow search copy's indexes (products.name has none: migration 2026.11.30T13.02.00).
  if (filters.q !== undefined) {
    where.add(`${column('id')} IN (SELECT s.id FROM product_search s WHERE ${nameMatches(where, filters.q)})`);
  }
  // Contract v1.3: a words search in another order than relevance (search/ranked.ts) matches through the words' index.
  if (filters.words !== undefined) where.add(`${column('id')} IN (SELECT s.id FROM product_words s WHERE s.words @@ ${where.bind(filters.words)}::tsquery)`);
  return where;
}

type PageRow = { total: number | null } & ({ [K in keyof ProductRow]: ProductRow[K] } | { [K in keyof ProductRow]: null });

/**
 * The SQL of a page's total, as one row `total`. `none` counts nothing. A list filtered by its category at most
 * reads the counts the triggers of `product_counts` maintain: a few rows, however large the catalog. Otherwise
 * `estimated` counts at most one match past EXACT_COUNT_LIMIT (see `settleEstimate`), and `exact` counts them all.
 */
function totalSql(filters: ProductFilters & WordsFilter, where: Conditions, count: CountMode): string {
  if (count === 'none') return 'SELECT NULL::int AS total';
  const { categoryId, category, ...others } = filters;
  const counted = (condition: string) => `SELECT coalesce(sum(n), 0)::int AS total FROM product_counts ${condition}`;
  if (!Object.values(others).some((value) => value !== undefined)) {
    if (categoryId === undefined && category === undefined) return counted('');
    if (category === undefined) return counted(`WHERE category_key = ${where.bind(categoryId)}`);
    if (categoryId === undefined) return counted(`WHERE category_key IN (SELECT id FROM categories WHERE lower(name) = lower(${where.bind(category)}))`);
  }
  const { q, ...rest } = others;
  // A name pattern alone counts its matches in the search copy (one narrow row per product) without visiting products.
  const nameOnly = q !== undefined && categoryId === undefined && category === undefined && !Object.values(rest).some((value) => value !== undefined);
  const matches = nameOnly ? `SELECT FROM product_search s WHERE ${nameMatches(where, q)}` : `SELECT FROM products p ${where.where}`;
  if (count === 'estimated') return `SELECT count(*)::int AS total FROM (${matches} LIMIT ${EXACT_COUNT_LIMIT + 1}) capped`;
  return `SELECT count(*)::int AS total FROM (${matches}) matched`;
}

/**
 * A capped count past EXACT_COUNT_LIMIT becomes the planner's estimate of every match (never below what was
 * counted), and says so; any other total is exact.
 */
async function settleEstimate(db: Database, filters: ProductFilters & WordsFilter, rows: ProductRow[], total: number | null, signal?: AbortSignal): Promise<Counted> {
  if (total === null || total <= EXACT_COUNT_LIMIT) return { rows, total };
  const where = filterConditions(db, filters);
  const [plan] = await db.query<{ 'QUERY PLAN': [{ Plan: { 'Plan Rows': number } }] }>(`EXPLAIN (FORMAT JSON) SELECT FROM products p ${where.where}`, where.binds, signal);
  const estimate = Math.round(plan?.['QUERY PLAN'][0].Plan['Plan Rows'] ?? 0);
  return { rows, total: Math.min(Math.max(estimate, total), INT32_MAX), estimated: true };
}

// Pages and writes come in few shapes (a page: which filters are given, the sort, the count mode; a write: which
// fields; never values): each runs as a named statement, parsed once per connection and, once PostgreSQL finds a
// generic plan as good, planned once too. W2 at 1 connection on 100 000 products, alternating runs: 238 and 320
// req/s unnamed, 297 and 362 named (autocannon, 8 s each). Past MAX_SHAPES shapes the rest run unnamed.
const MAX_SHAPES = 256;
const shapes = new Map<string, NamedStatement>();

function named(text: string): string | NamedStatement {
  let statement = shapes.get(text);
  if (!statement && shapes.size < MAX_SHAPES) {
    statement = { name: `tradeos_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`, text };
    shapes.set(text, statement);
  }
  return statement ?? text;
}

/**
 * The page and its total in one statement, so both come from one snapshot: a page can never disagree with its
 * total under concurrent writes. The page is chosen from products alone; only its rows are joined to their
 * category. The count row is the outer side, so an empty page still carries the total. `order` binds the page's
 * order into its conditions (and, after a cursor, the keyset condition that only the page obeys) and returns it.
 */
async function page(db: Database, filters: ProductFilters & WordsFilter, order: (where: Conditions) => string, options: PageOptions, signal?: AbortSignal): Promise<Counted> {
  const { columns } = sql(db);
  const count = options.count ?? 'exact';
  const where = filterConditions(db, filters);
  const total = totalSql(filters, where, count);
  const orderBy = order(where);
  const limit = where.bind(options.limit);
  const offset = where.bind(options.skip);
  const text = `SELECT t.total, ${columns}, c.name AS category_name, ${heldUnits('p.id')} AS reserved
     FROM (${total}) t
     LEFT JOIN (SELECT p.* FROM products p ${where.pageWhere} ORDER BY ${orderBy} LIMIT ${limit} OFFSET ${offset}) p ON true
     LEFT JOIN categories c ON c.id = p.category_id
     ORDER BY ${orderBy}`;
  // A name pattern (`q`) is planned per value: a plan made for any pattern scans far more of a search than one that knows it.
  const rows = await db.query<PageRow>(filters.q === undefined && filters.words === undefined ? named(text) : text, where.binds, signal);
  const found = rows.flatMap(({ total: _total, ...row }) => (row.id === null ? [] : [row as ProductRow]));
  const counted = rows[0]?.total ?? null;
  return count === 'estimated' ? settleEstimate(db, filters, found, counted, signal) : { rows: found, total: counted };
}

/**
 * The matches of a search in `product_search` (alias `s`), the narrow copy of every name: joined to the products
 * only when other filters need their columns.
 */
function searchConditions(db: Database, q: string, filters: ProductFilters): { from: string; where: Conditions } {
  const { q: _q, ...others } = filters;
  const where = filterConditions(db, others);
  where.add(nameMatches(where, q));
  const joined = Object.values(others).some((value) => value !== undefined);
  return { from: joined ? `product_search s JOIN products p ON ${sql(db).column('id')} = s.id` : 'product_search s', where };
}

/**
 * Search relevance with other filters (or a `q` under three characters): the page visits every match, so the total
 * is a window count over that same visit, one scan for both (one snapshot too), exact whatever `count` asks (but null
 * for `none`); without them, each rank has an index (`rankedByIndexes`). The visit reads the narrow `product_search` rows; only the page's products are read in full. A page
 * past the last match has no row to carry the count; then the count alone is asked, and the page is empty in any
 * snapshot.
 */
async function rankedPage(db: Database, q: string, filters: ProductFilters, options: PageOptions, signal?: AbortSignal): Promise<Counted> {
  const { q: _q, ...others } = filters;
  // Under three characters no trigram narrows the rest: one scan for page and count, as below, is the cheaper.
  if ([...q].length >= 3 && !Object.values(others).some((value) => value !== undefined)) return rankedByIndexes(db, q, options, signal);
  const { columns, column } = sql(db);
  const { from, where } = searchConditions(db, q, filters);
  const lower = `lower(${where.bind(q)})`;
  const limit = where.bind(options.limit);
  const offset = where.bind(options.skip);
  const rows = await db.query<ProductRow & { total: number }>(
    `SELECT m.total, ${columns}, c.name AS category_name, ${heldUnits('m.id')} AS reserved
     FROM (SELECT s.id, s.name, CASE WHEN s.name_lower = ${lower} THEN 0 WHEN starts_with(s.name_lower, ${lower}) THEN 1 ELSE 2 END AS rank,
                  count(*) OVER ()::int AS total
           FROM ${from} ${where.where} ORDER BY 3, 2, 1 LIMIT ${limit} OFFSET ${offset}) m
     JOIN products p ON ${column('id')} = m.id
     LEFT JOIN categories c ON c.id = ${column('category_id')}
     ORDER BY m.rank, m.name, m.id`,
    where.binds,
    signal,
  );
  const none = options.count === 'none';
  if (rows.length) return { rows: rows.map(({ total: _total, ...row }) => row), total: none ? null : rows[0]!.total };
  if (none) return { rows: [], total: null };
  const count = searchConditions(db, q, filters);
  const [counted] = await db.query<{ total: number }>(`SELECT count(*)::int AS total FROM ${count.from} ${count.where.where}`, count.where.binds, signal);
  return { rows: [], total: counted?.total ?? 0 };
}

/**
 * Relevance search with no other filter: each rank read by its index up to the page's end, the total from indexes
 * and maintained counts (search/substring.ts), page and total in one statement. An empty page still carries it (the
 * right join). `products` comes first in the text, as in every product read: monitoring that finds statements by the
 * tables they name sees it within `track_activity_query_size`.
 */
async function rankedByIndexes(db: Database, q: string, options: PageOptions, signal?: AbortSignal): Promise<Counted> {
  const { columns, column } = sql(db);
  const where = new Conditions();
  const bind = (value: unknown) => where.bind(value);
  const ranks = substringRanks(bind, q, bind(options.skip + options.limit), options.count !== 'none');
  const rows = await db.query<PageRow>(
    `${ranks.with} SELECT t.total, ${columns}, c.name AS category_name, ${heldUnits('m.id')} AS reserved
     FROM products p
     JOIN (SELECT b.id, b.name, b.rank FROM (${ranks.candidates}) b ORDER BY b.rank, b.name, b.id LIMIT ${bind(options.limit)} OFFSET ${bind(options.skip)}) m ON ${column('id')} = m.id
     LEFT JOIN categories c ON c.id = ${column('category_id')}
     RIGHT JOIN (SELECT ${ranks.total} AS total) t ON true
     ORDER BY m.rank, m.name, m.id`,
    where.binds,
    signal,
  );
  return { rows: rows.flatMap(({ total: _total, ...row }) => (row.id === null ? [] : [row as ProductRow])), total: rows[0]?.total ?? null };
}

function sortOrder(db: Database, sortBy: ProductSortKey, order: 'asc' | 'desc'): string {
  const { column } = sql(db);
  const direction = order === 'asc' ? 'ASC' : 'DESC';
  // Ties broken by id in the same direction: a total order, so paging never repeats or drops a row.
  return `${column(sortAttribute(sortBy))} ${direction}, ${column('id')} ${direction}`;
}

// How each sort key's value travels in a cursor.
const CURSOR_VALUES: Record<ProductSortKey, CursorValue> = {
  id: 'integer',
  name: 'text',
  price: 'decimal',
  quantity: 'integer',
  created_at: 'timestamp',
  updated_at: 'timestamp',
};

// A cursor's value as its column's type: text binds would not compare as timestamps or exact decimals.
const CURSOR_CASTS: Record<CursorValue, string> = { integer: '', text: '', decimal: '::numeric', timestamp: '::timestamptz' };

const cursorValue = (row: ProductRow, key: ProductSortKey): string | number => {
  const value: unknown = row[sortAttribute(key)];
  return value instanceof Date ? value.toISOString() : (value as string | number);
};

/**
 * Contract v1.2: the rows after a cursor's row in `sortBy` order, as `(key, id) > (…)` (or `<` descending), which the
 * `(key, id)` indexes serve. Timestamps are stored to the millisecond, as a cursor carries them (migration
 * 2026.12.06T10.00.00), so the cursor's values alone name its position, whether its row still exists or not.
 */
function keysetAfter(db: Database, where: Conditions, sortBy: ProductSortKey, order: 'asc' | 'desc', [value, id]: (string | number)[]): string {
  const { column } = sql(db);
  const key = column(sortAttribute(sortBy));
  return `(${key}, ${column('id')}) ${order === 'asc' ? '>' : '<'} (${where.bind(value)}${CURSOR_CASTS[CURSOR_VALUES[sortBy]]}, ${where.bind(id)})`;
}

/** Asks one row more than the page holds, to tell whether a next page exists; the cursor names the page's last row. */
async function withCursor(options: PageOptions, read: (options: PageOptions) => Promise<Counted>, cursorOf: (row: ProductRow) => (string | number)[], print: string): Promise<ProductPage> {
  const result = await read({ ...options, limit: options.limit + 1 });
  const rows = result.rows.slice(0, options.limit);
  const last = rows.at(-1);
  return { ...result, rows, nextCursor: result.rows.length > options.limit && last ? encodeCursor(print, cursorOf(last)) : null };
}

// Raw SQL like getProductById: one statement for the page and its total, which the model's findAndCountAll cannot give.
export async function getProductsWithFilters(db: Database, filters: ProductFilters & WordsFilter, options: PageOptions, signal?: AbortSignal): Promise<ProductPage> {
  const sortBy = options.sortBy ?? 'created_at';
  const print = fingerprint([filters, sortBy, options.order]);
  const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor, print, [CURSOR_VALUES[sortBy], 'integer']);
  const order = (where: Conditions) => {
    if (after) where.keyset(keysetAfter(db, where, sortBy, options.order, after));
    return sortOrder(db, sortBy, options.order);
  };
  return withCursor(options, (paged) => page(db, filters, order, paged, signal), (row) => [cursorValue(row, sortBy), row.id], print);
}

/**
 * Like the list, but without an explicit sort: exact name first, then names starting with `q`, then the rest. A
 * cursor page in that order carries the last row's name and id; its rank is computed from the name the same way.
 */
export async function searchProducts(db: Database, q: string, filters: ProductFilters, options: PageOptions, signal?: AbortSignal): Promise<ProductPage> {
  if (options.match === 'words') return searchWords(db, q, filters, options, signal);
  const matching = { ...filters, q };
  if (options.sortBy) return getProductsWithFilters(db, matching, options, signal);
  const print = fingerprint([matching, 'relevance']);
  const cursorOf = (row: ProductRow) => [row.name, row.id];
  if (!options.cursor) return withCursor(options, (paged) => rankedPage(db, q, filters, paged, signal), cursorOf, print);
  // By cursor the window count would count only the rows after it: the page and count come apart, as in `page`.
  const [name, id] = decodeCursor(options.cursor, print, ['text', 'integer']);
  const relevance = (where: Conditions) => {
    const { column } = sql(db);
    const exact = where.bind(q);
    const prefix = where.bind(`${escapeLike(q)}%`);
    const rank = (text: string) => `CASE WHEN lower(${text}) = lower(${exact}) THEN 0 WHEN ${text} ILIKE ${prefix} THEN 1 ELSE 2 END`;
    const after = where.bind(name);
    where.keyset(`(${rank(column('name'))}, ${column('name')}, ${column('id')}) > (${rank(`${after}::text`)}, ${after}, ${where.bind(id)})`);
    return `${rank(column('name'))}, ${column('name')}, ${column('id')}`;
  };
  return withCursor(options, (paged) => page(db, matching, relevance, paged, signal), cursorOf, print);
}

/** Products of the category with this name (any letter case); null when no such category exists. */
export async function getProductsByCategory(
  db: Database,
  category: string,
  filters: ProductFilters,
  options: PageOptions,
  signal?: AbortSignal,
): Promise<ProductPage | null> {
  const [found] = await db.query<{ id: number }>('SELECT id FROM categories WHERE lower(name) = lower($1)', [category], signal);
  if (!found) return null;
  return getProductsWithFilters(db, { ...filters, categoryId: found.id }, options, signal);
}

const byIdCache = new WeakMap<object, NamedStatement>();

// Behind a transaction pooler no statement may be named, and the SELECT below parsed and planned on every call put W1
// 32-50 % below W1 direct: the same read as a PL/pgSQL function (migration 2026.12.06T23.00.00), whose query each
// server connection plans once, behind a call that is trivial to plan.
const BY_ID_THROUGH_POOLER = 'SELECT * FROM catalog_product_by_id($1)';

// Raw SQL, not Product.findByPk: W1 made 3395 req/s this way and 2509 through the model (-26 %, pnpm bench, 5 s, shared machine).
// A named statement: each connection parses and plans it once (W1 at 64 connections: see the README's table).
export async function getProductById(db: Database, id: number, signal?: AbortSignal): Promise<ProductRow | null> {
  if (db.pooler === 'transaction') {
    const [row] = await db.query<ProductRow>(BY_ID_THROUGH_POOLER, [id], signal);
    return row ?? null;
  }
  let statement = byIdCache.get(db.Product);
  if (!statement) {
    const { column, columns } = sql(db);
    statement = {
      name: 'tradeos_product_by_id',
      text: `SELECT ${columns}, c.name AS category_name, ${heldUnits(column('id'))} AS reserved FROM products p LEFT JOIN categories c ON c.id = ${column('category_id')} WHERE ${column('id')} = $1`,
    };
    byIdCache.set(db.Product, statement);
  }
  const [row] = await db.query<ProductRow>(statement, [id], signal);
  return row ?? null;
}

/** The patch as the columns take it: money as exact decimal text, each attribute by its column. */
function assignments(db: Database, patch: ProductPatch): [column: string, value: unknown][] {
  const { field } = sql(db);
  return (Object.keys(patch) as (keyof ProductPatch)[])
    .filter((attribute) => patch[attribute] !== undefined)
    .map((attribute) => [field(attribute), attribute === 'price' ? patch.price!.toFixed(2) : patch[attribute]]);
}

/**
 * A write as one statement, returning the changed row joined to its category: atomic without BEGIN/COMMIT round
 * trips; the database advances `version` and appends the change's event in the same statement (triggers). It runs on
 * the pool this package owns, like the hot reads: through `sequelize.query` the server spent 1471/1398 µs of CPU per W4/W5 request against
 * 793/811 on the pool, 211/251 against 291/362 req/s (A/B alternating, /work/ab/abc.sh, 20 000 requests at 32
 * connections, same database; repeated: 709/670 µs against 519/502).
 */
async function write(db: Database, statement: string, binds: unknown[]): Promise<ProductRow | null> {
  const { column, columns } = sql(db);
  const [row] = await db.query<ProductRow>(
    named(`WITH p AS (${statement} RETURNING *) SELECT ${columns}, c.name AS category_name, ${heldUnits(column('id'), 'clock_timestamp()')} AS reserved FROM p LEFT JOIN categories c ON c.id = ${column('category_id')}`),
    binds,
  );
  return row ?? null;
}

export async function createProduct(db: Database, fields: ProductCreate): Promise<ProductRow> {
  const values = assignments(db, fields);
  const placeholders = values.map((_, index) => `$${index + 1}`).join(', ');
  const row = await write(
    db,
    `INSERT INTO products (${values.map(([column]) => column).join(', ')}) VALUES (${placeholders})`,
    values.map(([, value]) => value),
  );
  return row!;
}

/** How a keyed create's response is stored: its status, and its Location as this prefix, a slash and the new id. */
export interface CreatedResponse {
  status: number;
  locationPrefix: string;
}

/**
 * Contract v1.2: a create under an idempotency key as one statement on the package's pool: the key's lock, the
 * lookup of a stored key, the product and the key's row commit together or not at all. The stored body is the
 * row as created (`to_jsonb`, like an event's data), which the caller maps as it maps every row. A repeat that
 * arrives while the first runs finds the lock taken (`in_flight`). One that looked before the first committed and
 * locked after it finds no key in its snapshot and fails on the key's primary key (or on the first one's sku); its
 * insert goes with it, and the second attempt replays. That attempt first removes an expired row of the key, which a
 * new request takes over.
 * A keyed create in a Sequelize transaction (BEGIN, lookup, insert, key, COMMIT) reached 39 % of a plain create's
 * req/s in `pnpm bench` (S1: 463 against 1 179 at 64 connections); see the README's table for this path.
 */
export async function createProductOnce(db: Database, request: IdempotencyRequest, fields: ProductCreate, response: CreatedResponse): Promise<Once<ProductRow>> {
  const { column, columns } = sql(db);
  const values = assignments(db, fields);
  const binds: unknown[] = values.map(([, value]) => value);
  const bind = (value: unknown) => `$${binds.push(value)}`;
  const [lockClass, lockId] = keyLock(request);
  const scope = bind(request.scope);
  const key = bind(request.key);
  const text = `WITH lock AS MATERIALIZED (SELECT pg_try_advisory_xact_lock(${bind(lockClass)}, ${bind(lockId)}) AS locked),
    stored AS MATERIALIZED (
      SELECT k.request_hash, k.status, k.body, k.location FROM lock, idempotency_keys k
      WHERE lock.locked AND k.scope = ${scope} AND k.key = ${key} AND k.created_at > now() - interval '${IDEMPOTENCY_RETENTION}'),
    p AS (
      INSERT INTO products (${values.map(([name]) => name).join(', ')})
      SELECT ${values.map((_, index) => `$${index + 1}`).join(', ')} FROM lock WHERE lock.locked AND NOT EXISTS (SELECT FROM stored)
      RETURNING *),
    created AS (SELECT ${columns}, c.name AS category_name FROM p LEFT JOIN categories c ON c.id = ${column('category_id')}),
    kept AS (
      INSERT INTO idempotency_keys (scope, key, request_hash, status, body, location)
      SELECT ${scope}, ${key}, ${bind(request.hash)}, ${bind(response.status)}, to_jsonb(created), ${bind(response.locationPrefix)} || '/' || created.id
      FROM created)
    SELECT lock.locked, stored.request_hash, stored.status, stored.body, stored.location, created.*
    FROM lock LEFT JOIN stored ON true LEFT JOIN created ON true`;
  type Outcome = ProductRow & Omit<StoredKey, 'request_hash'> & { locked: boolean; request_hash: string | null };
  for (let attempt = 1; ; attempt += 1) {
    try {
      const [found] = await db.query<Outcome>(named(text), binds);
      if (!found?.locked) throw inFlight();
      const { locked: _locked, request_hash: hash, status, body, location, ...row } = found;
      if (hash !== null) return replay({ request_hash: hash, status, body, location }, request);
      return { replayed: false, value: row };
    } catch (error) {
      if (attempt > 1 || error instanceof DataError) throw error;
      const { code, constraint } = error as { code?: string; constraint?: string };
      // The key's row exists: expired (taken over) or just committed by the same request (replayed on the retry).
      if (code === '23505' && constraint === 'idempotency_keys_pkey') await dropExpiredKey(db, request);
      // The same request committed first with its product (a unique sku): the retry replays it.
      else if (!(await keyStored(db, request))) throw error;
    }
  }
}

/**
 * Contract v1.2: a conditional write carries `AND version = $n` in its one statement, so the check and the change
 * are atomic. When it changed no row, this one read tells why: no such product (null), another version (a
 * `version_mismatch`), else the row as it stands, for the caller's own guard.
 */
async function afterMiss(db: Database, id: number, expectedVersion: number | undefined): Promise<{ quantity: number; version: number } | null> {
  const current = await db.Product.findByPk(id, { attributes: ['quantity', 'version'], raw: true });
  if (current && expectedVersion !== undefined && current.version !== expectedVersion) throw versionMismatch('Product', id, current.version, expectedVersion);
  return current;
}

/**
 * `AND version = $n` with the next placeholder, when the write is conditional. Bound as bigint: a version past the
 * column's integer range can never exist, and then compares unequal (a 412) instead of failing as out of range.
 */
function versionGuard(db: Database, binds: unknown[], expectedVersion: number | undefined): string {
  if (expectedVersion === undefined) return '';
  binds.push(expectedVersion);
  return ` AND ${sql(db).field('version')} = $${binds.length}::bigint`;
}

/** Sets the given fields; null when the product does not exist; a `version_mismatch` when `expectedVersion` is not current. */
export async function updateProduct(db: Database, id: number, patch: ProductPatch, expectedVersion?: number): Promise<ProductRow | null> {
  const values = assignments(db, patch);
  if (!values.length) return getProductById(db, id);
  const { field } = sql(db);
  const set = values.map(([column], index) => `${column} = $${index + 2}`).join(', ');
  const binds = [id, ...values.map(([, value]) => value)];
  const guard = versionGuard(db, binds, expectedVersion);
  const row = await write(db, `UPDATE products SET ${set} WHERE ${field('id')} = $1${guard}`, binds);
  if (row) return row;
  await afterMiss(db, id, expectedVersion);
  return null;
}

/** False when the product did not exist; a `version_mismatch` when `expectedVersion` is not current. */
export async function deleteProduct(db: Database, id: number, expectedVersion?: number): Promise<boolean> {
  if ((await db.Product.destroy({ where: { id, ...(expectedVersion !== undefined && { version: expectedVersion }) } })) > 0) return true;
  if (expectedVersion !== undefined) await afterMiss(db, id, expectedVersion);
  return false;
}

export type QuantityChange = { delta: number } | { quantity: number };
export type QuantityResult = { status: 'ok'; row: ProductRow } | { status: 'not_found' } | { status: 'insufficient'; quantity: number };

/**
 * One atomic statement: the row lock taken by UPDATE serializes concurrent changes, and the guards in the WHERE
 * clause (stock, and the version when the change is conditional) are re-checked on the latest row, so parallel
 * decrements never oversell and of N changes conditional on one version exactly one wins. The sum is taken in
 * bigint, so a result past the column's range misses the row like a shortfall does, and is told apart after 404
 * and 412: a miss of an existing row at the right version is a shortfall when the delta takes stock away, else an
 * overflow (a 422 at `delta`).
 */
export async function updateProductQuantity(db: Database, id: number, change: QuantityChange, expectedVersion?: number): Promise<QuantityResult> {
  const { field } = sql(db);
  const quantity = field('quantity');
  const binds = [id, 'delta' in change ? change.delta : change.quantity];
  const guard = versionGuard(db, binds, expectedVersion);
  const sum = `${quantity} + $2::bigint`;
  const row =
    'delta' in change
      ? await write(db, `UPDATE products SET ${quantity} = ${sum} WHERE ${field('id')} = $1 AND ${sum} BETWEEN 0 AND ${INT32_MAX}${guard}`, binds)
      : await write(db, `UPDATE products SET ${quantity} = $2 WHERE ${field('id')} = $1${guard}`, binds);
  if (row) return { status: 'ok', row };
  const current = await afterMiss(db, id, expectedVersion);
  if (!current) return { status: 'not_found' };
  if ('delta' in change && change.delta > 0) {
    throw new DataError('out_of_range', `Product ${id} has ${current.quantity} in stock; adding ${change.delta} would pass ${INT32_MAX}`, 'delta');
  }
  return { status: 'insufficient', quantity: current.quantity };
}
