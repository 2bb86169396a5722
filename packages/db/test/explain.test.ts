import { QueryTypes } from 'sequelize';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Database, NamedStatement } from '../src/connection/database.js';
import { getProductsWithFilters, searchProducts } from '../src/store/products.js';
import { seed, seedSynthetic } from '../src/ops/seed.js';
import { useMigratedDatabase } from '../src/fixture.js';

/** One statement exactly as a query function sent it: Sequelize passes the query options, bind values included, to the logger. */
interface Statement {
  sql: string;
  bind: unknown[];
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  Plans?: PlanNode[];
}

const db = useMigratedDatabase();
let traced: Database;
let electronics: number;
const statements: Statement[] = [];

// The catalog at load-test scale with fresh statistics: plans on a near-empty table say nothing about indexes.
beforeAll(async () => {
  await seed(db);
  await seedSynthetic(db, 100_000);
  await db.sequelize.query('VACUUM ANALYZE products');
  const [category] = await db.sequelize.query<{ id: number }>(`SELECT id FROM categories WHERE name = 'Электроника'`, {
    type: QueryTypes.SELECT,
  });
  electronics = category!.id;
  // Every statement the query functions send, with its bind values, as PostgreSQL receives it.
  traced = {
    ...db,
    query: <T>(sql: string | NamedStatement, binds: unknown[] = []) => {
      statements.push({ sql: typeof sql === 'string' ? sql : sql.text, bind: binds });
      return db.query<T>(sql, binds);
    },
  };
}, 120_000);

/** Runs a query function on the traced handle and returns its one statement: the page and its count together. */
async function capture(run: (db: Database) => Promise<unknown>): Promise<Statement> {
  statements.length = 0;
  await run(traced);
  expect(statements).toHaveLength(1);
  return statements[0]!;
}

/** The executed plan of this statement, with the same bind values, so the planner sees what it saw. */
async function plan(statement: Statement): Promise<PlanNode> {
  const [row] = await db.sequelize.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${statement.sql}`, {
    bind: statement.bind,
    type: QueryTypes.SELECT,
  });
  return row!['QUERY PLAN'][0].Plan;
}

const nodes = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodes)];
/** The count's part of the plan (under its Aggregate) and the page's (under its Limit). */
function parts(root: PlanNode): { count: PlanNode[]; page: PlanNode[] } {
  const all = nodes(root);
  const count = all.find((n) => n['Node Type'] === 'Aggregate');
  const page = all.find((n) => n['Node Type'] === 'Limit');
  expect(count && page).toBeTruthy();
  return { count: nodes(count!), page: nodes(page!) };
}

const seqScansOnProducts = (nodes: PlanNode[]) => nodes.filter((n) => n['Node Type'] === 'Seq Scan' && n['Relation Name'] === 'products');
const nodeTypes = (nodes: PlanNode[], index: string) => nodes.filter((n) => n['Index Name'] === index).map((n) => n['Node Type']);

describe('query plans over 100 000 products', () => {
  it('search for a common word rank by rank through indexes, reading a page of rows, not every match', async () => {
    const statement = await capture((target) => searchProducts(target, 'ноутбук', {}, { skip: 0, limit: 20, order: 'desc' }));
    expect(statement.bind).toContain('%ноутбук%');
    const all = nodes(await plan(statement));
    // About 10 000 names start with the word: its first word's range is read in name order up to the page's end,
    // the names holding it later come from the trigram index of the names without their first letter, the total
    // from the maintained counts of first words.
    expect(nodeTypes(all, 'product_search_first_word_idx')).toEqual(['Index Scan']);
    expect(nodeTypes(all, 'product_search_tail_trgm_idx')).toContain('Bitmap Index Scan');
    expect(all.map((n) => n['Relation Name'])).toContain('search_first_words');
    expect(all.filter((n) => n['Node Type'] === 'Seq Scan' && ['products', 'product_search'].includes(n['Relation Name'] ?? ''))).toEqual([]);
    expect(all.filter((n) => n['Node Type'] === 'WindowAgg')).toEqual([]);
    expect(Math.max(...all.map((n) => n['Actual Rows'] ?? 0))).toBeLessThanOrEqual(100);
  });

  it('search with another filter in one visit of every match: the page and its window count share one scan', async () => {
    const statement = await capture((target) => searchProducts(target, 'ноутбук', { inStock: true }, { skip: 0, limit: 20, order: 'desc' }));
    expect(statement.bind).toContain('%ноутбук%');
    expect(statement.sql).toContain('count(*) OVER ()');
    const all = nodes(await plan(statement));
    expect(all.map((n) => n['Node Type'])).toContain('WindowAgg');
    expect(seqScansOnProducts(all)).toEqual([]);
  });

  it('filter the list by a name pattern through the search copy and its prefix and trigram indexes, page and count alike', async () => {
    const statement = await capture((target) => getProductsWithFilters(target, { q: 'ноутбук' }, { skip: 0, limit: 20, order: 'desc' }));
    expect(statement.bind).toContain('%ноутбук%');
    const { count, page } = parts(await plan(statement));
    // A bitmap OR: the names starting with it (a range of the prefix index), the names holding it after their first letter.
    expect(nodeTypes(count, 'product_search_name_lower_prefix_idx')).toEqual(['Bitmap Index Scan']);
    expect(nodeTypes(count, 'product_search_tail_trgm_idx')).toEqual(['Bitmap Index Scan']);
    // The count visits the narrow search rows only, not the products they stand for.
    expect(count.filter((n) => n['Relation Name'] === 'products')).toEqual([]);
    expect(page.map((n) => n['Relation Name'])).toContain('product_search');
  });

  it('filter by category, price range and stock, sorted by price: the page from the index, the count index-only', async () => {
    const statement = await capture((target) =>
      getProductsWithFilters(target, { categoryId: electronics, minPrice: 1_000, maxPrice: 5_000, inStock: true }, { skip: 0, limit: 20, sortBy: 'price', order: 'asc' }),
    );
    expect(statement.bind).toEqual(expect.arrayContaining([electronics, 1_000, 5_000]));
    expect(statement.sql).toContain('count(*)');
    const { count, page } = parts(await plan(statement));
    expect(seqScansOnProducts(page)).toEqual([]);
    expect(nodeTypes(page, 'products_category_id_price_quantity_idx')).toEqual(['Index Scan']);
    expect(page.map((n) => n['Node Type'])).not.toContain('Sort');

    expect(seqScansOnProducts(count)).toEqual([]);
    expect(nodeTypes(count, 'products_category_id_price_quantity_idx')).toEqual(['Index Only Scan']);
  });

  it('serve the default sort (created_at desc, id desc) first page from the index, without sorting, its total from the maintained counts', async () => {
    const statement = await capture((target) => getProductsWithFilters(target, {}, { skip: 0, limit: 20, order: 'desc' }));
    const { count, page } = parts(await plan(statement));
    // The total is the maintained count's few rows, not a visit to every product.
    expect(count.filter((n) => n['Relation Name'] === 'products')).toEqual([]);
    expect(count.map((n) => n['Relation Name'])).toContain('product_counts');
    expect(seqScansOnProducts(page)).toEqual([]);
    expect(nodeTypes(page, 'products_created_at_id_idx')).toEqual(['Index Scan']);
    expect(page.map((n) => n['Node Type'])).not.toContain('Sort');
  });
});
