/** Products: the resource as returned, what a write accepts, list queries and the page envelope. */
import { z } from 'zod';
import { atLeastOne, ExpectedVersion, Id, INT32_MAX, Money, MONEY_MAX, name, PathId, Quantity, text, Timestamp, Version } from './common.js';
import { holdsWord, matchModes, type MatchMode } from './search.js';

export const productSortKeys = ['id', 'name', 'price', 'quantity', 'created_at', 'updated_at'] as const;
export type ProductSortKey = (typeof productSortKeys)[number];

export const Sku = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1–64 of A–Z a–z 0–9 . _ -')
  .meta({ example: 'LEN-IP5-14' });

export const Product = z
  .object({
    id: Id,
    name: z.string().min(1).max(200).meta({ example: 'Ноутбук Lenovo IdeaPad 5' }),
    description: z.string().max(5000).nullable(),
    price: z.number().min(0).max(MONEY_MAX).meta({ example: 74990.5 }),
    quantity: Quantity,
    reserved: Quantity.meta({ description: 'v1.3: units held by active reservations that have not expired, at the instant of the read.' }),
    available: Quantity.meta({ description: 'v1.3: `quantity − reserved`.' }),
    in_stock: z.boolean().meta({ description: '`available > 0`.' }),
    sku: Sku.nullable(),
    category_id: Id.nullable(),
    category: z.object({ id: Id, name: z.string().min(1).max(100) }).nullable(),
    version: Version,
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: 'Product' });
export type Product = z.infer<typeof Product>;

const fields = {
  name: name(200).meta({ example: 'Ноутбук Lenovo IdeaPad 5' }),
  price: Money,
  description: text(5000).nullable(),
  quantity: Quantity,
  sku: Sku.nullable(),
  category_id: Id.nullable(),
};
type Field = keyof typeof fields;
/** The fields a write may set; every other field of Product is read-only. */
export const productFields = Object.keys(fields) as Field[];

export const ProductCreate = z.strictObject({
  name: fields.name,
  price: fields.price,
  description: fields.description.optional(),
  quantity: fields.quantity.optional(),
  sku: fields.sku.optional(),
  category_id: fields.category_id.optional(),
});
export type ProductCreate = z.infer<typeof ProductCreate>;

export const ProductUpdate = z
  .strictObject({
    id: PathId,
    name: fields.name.optional(),
    price: fields.price.optional(),
    description: fields.description.optional(),
    quantity: fields.quantity.optional(),
    sku: fields.sku.optional(),
    category_id: fields.category_id.optional(),
    expected_version: ExpectedVersion,
  })
  .superRefine(atLeastOne(productFields))
  .meta({ minProperties: 1 });
export type ProductUpdate = z.infer<typeof ProductUpdate>;

const Delta = z.number().int().min(-INT32_MAX).max(INT32_MAX).meta({ description: 'Added to the stock; may be negative.' });

export const ProductQuantityChange = z
  .strictObject({ id: PathId, delta: Delta.optional(), quantity: Quantity.optional().meta({ description: 'The new stock level.' }), expected_version: ExpectedVersion })
  .superRefine((value, ctx) => {
    if (value.delta !== undefined && value.quantity !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['delta', 'quantity'], message: 'Provide exactly one of delta or quantity, not both' });
    } else if (value.delta === undefined && value.quantity === undefined) {
      ctx.addIssue({ code: 'custom', path: [], message: 'Provide exactly one of delta or quantity' });
    }
  })
  .meta({ oneOf: [{ required: ['delta'] }, { required: ['quantity'] }] });
export type ProductQuantityChange = z.infer<typeof ProductQuantityChange>;

export const countModes = ['exact', 'estimated', 'none'] as const;
export type CountMode = (typeof countModes)[number];
/** With `count=estimated`, a total up to this many matches is still exact. */
export const EXACT_COUNT_LIMIT = 10_000;

/** Deeper pages cost the database more with every row skipped: past this, narrow the filters or change the order. */
export const MAX_SKIP = 10_000;

const listParams = {
  skip: z
    .number()
    .int()
    .min(0)
    .max(MAX_SKIP, `must be at most ${MAX_SKIP}; narrow the filters or reverse the order to reach deeper rows`)
    .optional()
    .meta({ description: 'Rows to skip; default 0. Not together with `cursor`.' }),
  cursor: z
    .string()
    .min(1)
    .max(1024)
    .optional()
    .meta({ description: 'Opaque: the `next_cursor` of the previous page, with the same filters and sort. Not together with `skip`.' }),
  limit: z.number().int().min(1).max(100).default(20).meta({ description: 'Products per page, 1–100; default 20.' }),
  category_id: Id.optional().meta({ description: 'Only the products of the category with this id.' }),
  category: name(100).optional().meta({ description: 'Category name, any letter case.' }),
  min_price: Money.optional(),
  max_price: Money.optional(),
  in_stock: z.boolean().optional().meta({ description: '`true`: available > 0; `false`: available = 0.' }),
  q: name(100).optional().meta({ description: 'Case-insensitive substring of the name.' }),
  sort_by: z.enum(productSortKeys).optional().meta({ description: 'Default `created_at` (relevance for search).' }),
  order: z.enum(['asc', 'desc']).default('desc').meta({ description: 'Sort direction; default `desc`. Ties are broken by `id` in the same direction.' }),
  count: z.enum(countModes).optional().meta({
    description: `How \`total\` is counted: \`exact\` (what an absent \`count\` means), \`estimated\` (exact up to ${EXACT_COUNT_LIMIT.toLocaleString('en')} matches, else the planner's estimate) or \`none\` (\`total\` is null).`,
  }),
};

function priceBounds(value: { min_price?: number; max_price?: number; skip?: number; cursor?: string }, ctx: z.RefinementCtx): void {
  if (value.min_price !== undefined && value.max_price !== undefined && value.min_price > value.max_price) {
    ctx.addIssue({ code: 'custom', path: ['min_price'], message: 'must not exceed max_price' });
  }
  if (value.skip !== undefined && value.cursor !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['cursor', 'skip'], message: 'Provide either cursor or skip, not both' });
  }
}

export const ProductListQuery = z.strictObject(listParams).superRefine(priceBounds);
export type ProductListQuery = z.input<typeof ProductListQuery>;

export const ProductSearchQuery = z
  .strictObject({
    ...listParams,
    q: name(100).meta({ description: 'Case-insensitive substring of the name (required); with `match=words`, the words to find.', example: 'ноутбук' }),
    match: z.enum(matchModes).default('substring').meta({
      description:
        'Contract v1.3. `substring` (the default): `q` is a substring of the name. `words`: every word of `q` matches a word of the name, in any order — another form of it (Russian and English stemming), ignoring case, `ё` and diacritics, transliterated, one typo in a word of 5–8 letters and two in a longer one, or (the last word, 3 letters or more) the start of a name word; `q` typed in the other keyboard layout (ЙЦУКЕН/QWERTY) is tried too. Without `sort_by`: the name equal to `q`, then names holding every word in order, in any order, through word forms or prefixes, through the layout or transliteration, through typos; newest first within each. `count` defaults to `estimated` and the page always carries `total_is_estimate`. A `q` with no letter or digit in either layout is a 422.',
    }),
  })
  .superRefine(priceBounds)
  .superRefine((value, ctx) => {
    if (value.match === 'words' && !holdsWord(value.q)) {
      ctx.addIssue({ code: 'custom', path: ['q'], message: 'must hold a letter or a digit (in either keyboard layout) to search by words' });
    }
  });
export type ProductSearchQuery = z.input<typeof ProductSearchQuery>;

const { category: _byName, ...categoryListParams } = listParams;
export const ProductByCategoryQuery = z
  .strictObject({ ...categoryListParams, category: name(100).meta({ description: 'Category name (any letter case).', example: 'Электроника' }) })
  .superRefine(priceBounds);
export type ProductByCategoryQuery = z.input<typeof ProductByCategoryQuery>;

/** A list query's filters as storage takes them (shared by the API's storage port and the db package that implements it). */
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

/** A list query's paging and order as storage takes them. */
export interface PageOptions {
  skip: number;
  /** Contract v1.2: the opaque `next_cursor` of the previous page (then `skip` is 0). */
  cursor?: string;
  limit: number;
  /** Omitted: `created_at` for lists, relevance for searches. */
  sortBy?: ProductSortKey;
  order: 'asc' | 'desc';
  /** Omitted: exact (estimated for a words search). */
  count?: CountMode;
  /** Contract v1.3, searches only: omitted, a substring search. */
  match?: MatchMode;
}

export const ProductPage = z
  .object({
    items: z.array(Product),
    total: z.number().int().min(0).max(INT32_MAX).nullable().meta({ description: 'Every match, not just this page; null with `count=none`.' }),
    total_is_estimate: z.boolean().optional().meta({ description: 'Present whenever `count` is given: true when `total` is the planner’s estimate.' }),
    skip: z.number().int().min(0).max(MAX_SKIP),
    limit: z.number().int().min(1).max(100),
    next_cursor: z.string().nullable().meta({ description: 'Pass as `cursor` for the next page; null on the last page.' }),
  })
  .meta({ id: 'ProductPage' });
export type ProductPage = z.infer<typeof ProductPage>;

/** Contract v1.2: most items in one bulk upsert. */
export const MAX_BULK_ITEMS = 1000;

export const ProductBulkItem = z
  .strictObject({
    sku: Sku,
    name: fields.name,
    price: fields.price,
    description: fields.description.optional(),
    quantity: fields.quantity.optional(),
    category_id: fields.category_id.optional(),
    category: name(100).optional().meta({ description: 'The name of an existing category (any letter case), instead of `category_id`.' }),
  })
  .superRefine((item, ctx) => {
    if (item.category_id !== undefined && item.category !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['category', 'category_id'], message: 'Provide either category or category_id, not both' });
    }
  });
export type ProductBulkItem = z.infer<typeof ProductBulkItem>;

export const ProductBulk = z
  .strictObject({ items: z.array(ProductBulkItem).min(1).max(MAX_BULK_ITEMS) })
  .superRefine(({ items }, ctx) => {
    const seen = new Map<string, number>();
    items.forEach((item, index) => {
      const first = seen.get(item.sku);
      if (first === undefined) seen.set(item.sku, index);
      else ctx.addIssue({ code: 'custom', path: ['items', index, 'sku'], message: `repeats the sku of items[${first}]` });
    });
  });
export type ProductBulk = z.infer<typeof ProductBulk>;

export const bulkStatuses = ['created', 'updated', 'unchanged'] as const;
export type BulkStatus = (typeof bulkStatuses)[number];

const Count = z.number().int().min(0).max(MAX_BULK_ITEMS);

export const ProductBulkResult = z
  .object({
    created: Count,
    updated: Count,
    unchanged: Count,
    items: z.array(z.object({ sku: Sku, id: Id, status: z.enum(bulkStatuses) })).meta({ description: 'One per item, in input order.' }),
  })
  .meta({ id: 'ProductBulkResult' });
export type ProductBulkResult = z.infer<typeof ProductBulkResult>;
