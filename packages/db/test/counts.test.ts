import { EXACT_COUNT_LIMIT } from '@tradeos/contract';
import { QueryTypes } from 'sequelize';
import { beforeEach, describe, expect, it } from 'vitest';
import { createCategory } from '../src/store/categories.js';
import { createProduct, deleteProduct, getProductsByCategory, getProductsWithFilters, searchProducts, updateProduct, type PageOptions } from '../src/store/products.js';
import { createMigrator } from '../src/schema/migrator.js';
import { useMigratedDatabase } from '../src/fixture.js';

const db = useMigratedDatabase();
beforeEach(async () => {
  await db.sequelize.query('TRUNCATE products, categories');
});

const first: PageOptions = { skip: 0, limit: 5, order: 'desc' };

/** What product_counts says, per category key (0: no category), beside what counting the products says. */
async function counts(): Promise<{ maintained: Record<number, number>; counted: Record<number, number> }> {
  const read = async (sql: string) =>
    Object.fromEntries((await db.sequelize.query<{ key: number; n: number }>(sql, { type: QueryTypes.SELECT })).map(({ key, n }) => [key, n]));
  return {
    maintained: await read('SELECT category_key AS key, sum(n)::int AS n FROM product_counts GROUP BY 1 HAVING sum(n) <> 0'),
    counted: await read('SELECT coalesce(category_id, 0) AS key, count(*)::int AS n FROM products GROUP BY 1'),
  };
}

async function insertMany(count: number, categoryId: number | null, name = 'Товар'): Promise<void> {
  await db.sequelize.query(`INSERT INTO products (name, price, category_id) SELECT $1 || ' ' || g, 1, $2 FROM generate_series(1, $3) g`, {
    bind: [name, categoryId, count],
  });
}

describe('maintained product counts', () => {
  it('follow inserts, category moves, deletes and TRUNCATE, one statement or many', async () => {
    const books = (await createCategory(db, { name: 'Книги' })).id;
    const toys = (await createCategory(db, { name: 'Игрушки' })).id;
    await insertMany(30, books);
    await insertMany(7, null);
    const one = await createProduct(db, { name: 'Мяч', price: 1, category_id: toys });
    await updateProduct(db, one.id, { category_id: books });
    await updateProduct(db, one.id, { price: 2 });
    await db.sequelize.query('UPDATE products SET category_id = $1 WHERE category_id IS NULL', { bind: [toys] });
    await deleteProduct(db, one.id);
    await db.sequelize.query(`DELETE FROM products WHERE name IN ('Товар 1', 'Товар 2')`);
    const { maintained, counted } = await counts();
    expect(maintained).toEqual(counted);
    expect(counted).toEqual({ [books]: 28, [toys]: 5 });

    await db.sequelize.query('TRUNCATE products, categories');
    expect(await counts()).toEqual({ maintained: {}, counted: {} });
  });

  it('stay exact under concurrent inserts and deletes', async () => {
    const category = (await createCategory(db, { name: 'Мебель' })).id;
    const created = await Promise.all(Array.from({ length: 40 }, (_, i) => createProduct(db, { name: `Стул ${i}`, price: 1, category_id: i % 2 ? category : null })));
    await Promise.all(created.slice(0, 15).map(({ id }) => deleteProduct(db, id)));
    const { maintained, counted } = await counts();
    expect(maintained).toEqual(counted);
  });

  it('are backfilled by the migration from the products already there, and its down removes them', async () => {
    const category = (await createCategory(db, { name: 'Посуда' })).id;
    await insertMany(12, category);
    await insertMany(3, null);
    const migrator = createMigrator(db);
    // Back to before the counts: they and every later migration.
    const { executed } = await migrator.status();
    const since = executed.findIndex((name) => name.endsWith('maintained-product-counts'));
    expect(await migrator.down({ step: executed.length - since })).toEqual(executed.slice(since).reverse());
    const [table] = await db.sequelize.query<{ present: boolean }>(`SELECT to_regclass('product_counts') IS NOT NULL AS present`, { type: QueryTypes.SELECT });
    expect(table?.present).toBe(false);
    await insertMany(5, category);
    await migrator.up();
    expect((await counts()).maintained).toEqual({ [category]: 17, 0: 3 });
    // Names carried over too: 'Товар 1' and 'Товар 10'-'Товар 12' of the category, 'Товар 1' of the others.
    expect(await searchProducts(db, 'ТОВАР 1', {}, first)).toMatchObject({ total: 6 });
  });
});

describe('the search table', () => {
  it('follows inserts, renames, deletes and TRUNCATE', async () => {
    const lamp = await createProduct(db, { name: 'Лампа настольная', price: 1 });
    await createProduct(db, { name: 'Лампочка', price: 1 });
    const names = async (q: string) => (await searchProducts(db, q, {}, first)).rows.map((row) => row.name);
    expect(await names('ЛАМП')).toEqual(['Лампа настольная', 'Лампочка']);
    await updateProduct(db, lamp.id, { name: 'Торшер' });
    await updateProduct(db, lamp.id, { price: 5 });
    expect(await names('ламп')).toEqual(['Лампочка']);
    expect(await names('торшер')).toEqual(['Торшер']);
    await deleteProduct(db, lamp.id);
    expect(await names('торшер')).toEqual([]);
    await db.sequelize.query('TRUNCATE products, categories');
    const [left] = await db.sequelize.query<{ n: number }>('SELECT count(*)::int AS n FROM product_search', { type: QueryTypes.SELECT });
    expect(left?.n).toBe(0);
  });
});

describe('count modes', () => {
  it('give unfiltered and category-only totals from the maintained counts, matching a count', async () => {
    const category = (await createCategory(db, { name: 'Спорт' })).id;
    await insertMany(9, category);
    await insertMany(4, null);
    for (const count of [undefined, 'exact', 'estimated'] as const) {
      expect((await getProductsWithFilters(db, {}, { ...first, count })).total).toBe(13);
      expect(await getProductsWithFilters(db, { categoryId: category }, { ...first, count })).toMatchObject({ total: 9 });
      expect((await getProductsByCategory(db, 'СПОРТ', {}, { ...first, count }))?.total).toBe(9);
      expect((await getProductsWithFilters(db, { category: 'спорт' }, { ...first, count })).total).toBe(9);
    }
    expect((await getProductsWithFilters(db, { categoryId: category + 100 }, first)).total).toBe(0);
    expect((await getProductsWithFilters(db, { category: 'нет такой' }, first)).total).toBe(0);
  });

  it('none: no total, the same page', async () => {
    await insertMany(8, null, 'Лампа');
    const counted = await getProductsWithFilters(db, { minPrice: 1 }, first);
    const uncounted = await getProductsWithFilters(db, { minPrice: 1 }, { ...first, count: 'none' });
    expect(uncounted).toEqual({ rows: counted.rows, total: null, nextCursor: counted.nextCursor });
    expect((await getProductsWithFilters(db, {}, { ...first, count: 'none' })).total).toBeNull();
    expect((await searchProducts(db, 'лампа', {}, { ...first, count: 'none' })).total).toBeNull();
    expect(await searchProducts(db, 'лампа', {}, { ...first, skip: 50, count: 'none' })).toEqual({ rows: [], total: null, nextCursor: null });
    expect(await searchProducts(db, 'лампа', {}, { ...first, count: 'estimated' })).toMatchObject({ total: 8 });
  });

  it(`estimated: exact up to ${EXACT_COUNT_LIMIT} matches, the planner's estimate above, flagged`, async () => {
    await insertMany(EXACT_COUNT_LIMIT, null, 'Гвоздь');
    await insertMany(50, null, 'Шуруп');
    await db.sequelize.query('ANALYZE products');
    const exactly = await getProductsWithFilters(db, { q: 'гвоздь' }, { ...first, count: 'estimated' });
    expect(exactly.total).toBe(EXACT_COUNT_LIMIT);
    expect(exactly.estimated).toBeUndefined();
    await insertMany(500, null, 'Гвоздь большой');
    const estimated = await getProductsWithFilters(db, { q: 'гвоздь' }, { ...first, count: 'estimated' });
    expect(estimated.estimated).toBe(true);
    expect(estimated.total).toBeGreaterThan(EXACT_COUNT_LIMIT);
    expect(estimated.rows).toHaveLength(5);
    expect(await getProductsWithFilters(db, { q: 'гвоздь' }, first)).toMatchObject({ total: EXACT_COUNT_LIMIT + 500 });
  });
});
