import { productSortKeys, type ProductSortKey } from '@tradeos/contract';
import { QueryTypes } from 'sequelize';
import { beforeEach, describe, expect, it } from 'vitest';
import { createCategory, deleteCategory, getCategoryById, listCategories, updateCategory } from '../src/store/categories.js';
import {
  createProduct,
  deleteProduct,
  escapeLike,
  getProductById,
  getProductsByCategory,
  getProductsWithFilters,
  searchProducts,
  updateProduct,
  updateProductQuantity,
  type PageOptions,
  type ProductFilters,
  type ProductPage,
} from '../src/store/products.js';
import { useMigratedDatabase } from '../src/fixture.js';

const db = useMigratedDatabase();
// Every test builds its own data on empty tables, so none depends on another or on their order.
beforeEach(async () => {
  await db.sequelize.query('TRUNCATE products, categories');
});

const all: PageOptions = { skip: 0, limit: 100, order: 'desc' };
const names = (page: ProductPage): string[] => page.rows.map((row) => row.name);
const sorted = (values: string[]): string[] => [...values].sort();

interface Fixture {
  name: string;
  price: string;
  quantity: number;
  category: string | null;
  created: string;
  updated: string;
}

// Ties on price, quantity, created_at and updated_at; names chosen to sort the same under any collation.
const fixtures: Fixture[] = [
  { name: 'Ноутбук Lenovo IdeaPad 5', price: '74990.50', quantity: 12, category: 'Электроника', created: '2026-11-02T10:00:00Z', updated: '2026-11-20T10:00:00Z' },
  { name: 'Ноутбук ASUS ZenBook 14', price: '99990.00', quantity: 0, category: 'Электроника', created: '2026-11-05T10:00:00Z', updated: '2026-11-05T10:00:00Z' },
  { name: 'Смартфон Samsung Galaxy', price: '49990.00', quantity: 5, category: 'Электроника', created: '2026-11-01T10:00:00Z', updated: '2026-11-21T10:00:00Z' },
  { name: 'Свитер шерстяной', price: '2990.00', quantity: 0, category: 'Одежда', created: '2026-11-05T10:00:00Z', updated: '2026-11-22T10:00:00Z' },
  { name: 'Куртка зимняя', price: '8990.00', quantity: 3, category: 'Одежда', created: '2026-11-03T10:00:00Z', updated: '2026-11-21T10:00:00Z' },
  { name: 'Роман «Мастер и Маргарита»', price: '590.00', quantity: 40, category: 'Книги', created: '2026-11-04T10:00:00Z', updated: '2026-11-04T10:00:00Z' },
  { name: 'USB-кабель', price: '590.00', quantity: 12, category: null, created: '2026-11-06T10:00:00Z', updated: '2026-11-06T10:00:00Z' },
];

interface Catalog {
  categories: Map<string, number>;
  ids: Map<string, number>;
}

/** The fixtures, inserted with explicit timestamps (the update trigger only fires on UPDATE), plus an empty category. */
async function catalog(): Promise<Catalog> {
  const categories = new Map<string, number>();
  for (const name of ['Электроника', 'Одежда', 'Книги', 'Мебель']) categories.set(name, (await createCategory(db, { name })).id);
  const rows = await db.sequelize.query<{ id: number; name: string }>(
    `INSERT INTO products (name, price, quantity, category_id, created_at, updated_at)
     SELECT * FROM unnest($1::varchar[], $2::numeric[], $3::integer[], $4::integer[], $5::timestamptz[], $6::timestamptz[])
     RETURNING id, name`,
    {
      bind: [
        fixtures.map((f) => f.name),
        fixtures.map((f) => f.price),
        fixtures.map((f) => f.quantity),
        fixtures.map((f) => (f.category === null ? null : categories.get(f.category))),
        fixtures.map((f) => f.created),
        fixtures.map((f) => f.updated),
      ],
      type: QueryTypes.SELECT,
    },
  );
  return { categories, ids: new Map(rows.map((row) => [row.name, row.id])) };
}

/** Products with these names, price 1, inserted one by one in the given order (so ids follow it). */
async function products(...productNames: string[]): Promise<number[]> {
  const ids: number[] = [];
  for (const name of productNames) ids.push((await createProduct(db, { name, price: 1 })).id);
  return ids;
}

async function productCount(): Promise<number> {
  const [row] = await db.sequelize.query<{ n: number }>('SELECT count(*)::int AS n FROM products', { type: QueryTypes.SELECT });
  return row?.n ?? 0;
}

describe('getProductsWithFilters', () => {
  const electronics = ['Ноутбук Lenovo IdeaPad 5', 'Ноутбук ASUS ZenBook 14', 'Смартфон Samsung Galaxy'];
  const inStock = ['Ноутбук Lenovo IdeaPad 5', 'Смартфон Samsung Galaxy', 'Куртка зимняя', 'Роман «Мастер и Маргарита»', 'USB-кабель'];

  it.each<[string, (c: Catalog) => ProductFilters, string[]]>([
    ['no filter', () => ({}), fixtures.map((f) => f.name)],
    ['category_id', (c) => ({ categoryId: c.categories.get('Электроника') }), electronics],
    ['category_id of an empty category', (c) => ({ categoryId: c.categories.get('Мебель') }), []],
    ['category name in upper case', () => ({ category: 'ЭЛЕКТРОНИКА' }), electronics],
    ['category name in lower case', () => ({ category: 'одежда' }), ['Свитер шерстяной', 'Куртка зимняя']],
    ['category name of no category', () => ({ category: 'Игрушки' }), []],
    ['min_price, inclusive', () => ({ minPrice: 49_990 }), ['Ноутбук Lenovo IdeaPad 5', 'Ноутбук ASUS ZenBook 14', 'Смартфон Samsung Galaxy']],
    ['max_price, inclusive', () => ({ maxPrice: 590 }), ['Роман «Мастер и Маргарита»', 'USB-кабель']],
    ['min_price and max_price, both inclusive', () => ({ minPrice: 2990, maxPrice: 8990 }), ['Свитер шерстяной', 'Куртка зимняя']],
    ['fractional price bounds', () => ({ minPrice: 74_990.5, maxPrice: 74_990.5 }), ['Ноутбук Lenovo IdeaPad 5']],
    ['in_stock true', () => ({ inStock: true }), inStock],
    ['in_stock false', () => ({ inStock: false }), ['Ноутбук ASUS ZenBook 14', 'Свитер шерстяной']],
    ['q, Cyrillic in another letter case', () => ({ q: 'НОУТБУК' }), ['Ноутбук Lenovo IdeaPad 5', 'Ноутбук ASUS ZenBook 14']],
    ['q, Latin in another letter case', () => ({ q: 'samsung' }), ['Смартфон Samsung Galaxy']],
    ['q, a substring inside a word', () => ({ q: 'УТБ' }), ['Ноутбук Lenovo IdeaPad 5', 'Ноутбук ASUS ZenBook 14']],
    ['q matching nothing', () => ({ q: 'холодильник' }), []],
    ['category_id and in_stock', (c) => ({ categoryId: c.categories.get('Электроника'), inStock: true }), ['Ноутбук Lenovo IdeaPad 5', 'Смартфон Samsung Galaxy']],
    ['category_id, in_stock and q', (c) => ({ categoryId: c.categories.get('Электроника'), inStock: true, q: 'ноутбук' }), ['Ноутбук Lenovo IdeaPad 5']],
    ['category name and max_price', () => ({ category: 'КНИГИ', maxPrice: 590 }), ['Роман «Мастер и Маргарита»']],
    ['min_price and in_stock false', () => ({ minPrice: 50_000, inStock: false }), ['Ноутбук ASUS ZenBook 14']],
    ['price range, in_stock and q', () => ({ minPrice: 500, maxPrice: 60_000, inStock: true, q: 'а' }), ['Смартфон Samsung Galaxy', 'Куртка зимняя', 'Роман «Мастер и Маргарита»', 'USB-кабель']],
    ['category_id and a category name that disagree', (c) => ({ categoryId: c.categories.get('Электроника'), category: 'Одежда' }), []],
  ])('filter by %s', async (_label, filters, expected) => {
    const c = await catalog();
    const page = await getProductsWithFilters(db, filters(c), all);
    expect(sorted(names(page))).toEqual(sorted(expected));
    expect(page.total).toBe(expected.length);
  });

  it('return the row with its category name, price as exact text', async () => {
    const c = await catalog();
    const { rows } = await getProductsWithFilters(db, { q: 'Lenovo' }, all);
    expect(rows).toEqual([
      {
        id: c.ids.get('Ноутбук Lenovo IdeaPad 5'),
        name: 'Ноутбук Lenovo IdeaPad 5',
        description: null,
        price: '74990.50',
        quantity: 12,
        reserved: 0,
        sku: null,
        category_id: c.categories.get('Электроника'),
        category_name: 'Электроника',
        version: 1,
        created_at: new Date('2026-11-02T10:00:00Z'),
        updated_at: new Date('2026-11-20T10:00:00Z'),
      },
    ]);
  });

  it('count every match in total, not just the page', async () => {
    await catalog();
    const page = (skip: number) => getProductsWithFilters(db, { inStock: true }, { skip, limit: 2, order: 'desc' });
    expect((await page(0)).rows).toHaveLength(2);
    expect((await page(0)).total).toBe(5);
    expect((await page(4)).rows).toHaveLength(1);
    expect((await page(4)).total).toBe(5);
    expect(await page(100)).toEqual({ rows: [], total: 5, nextCursor: null });
  });

  it('sort by created_at desc, then id desc, by default', async () => {
    const c = await catalog();
    const expected = [...fixtures]
      .sort((a, b) => Date.parse(b.created) - Date.parse(a.created) || c.ids.get(b.name)! - c.ids.get(a.name)!)
      .map((f) => f.name);
    expect(names(await getProductsWithFilters(db, {}, all))).toEqual(expected);
  });

  const sortValue: Record<ProductSortKey, (f: Fixture, id: number) => number | string> = {
    id: (_f, id) => id,
    name: (f) => f.name,
    price: (f) => Number(f.price),
    quantity: (f) => f.quantity,
    created_at: (f) => Date.parse(f.created),
    updated_at: (f) => Date.parse(f.updated),
  };

  it.each(productSortKeys.flatMap((key) => (['asc', 'desc'] as const).map((order) => [key, order] as const)))(
    'sort by %s %s, ties by id in the same direction',
    async (sortBy, order) => {
      const c = await catalog();
      const sign = order === 'asc' ? 1 : -1;
      const key = (f: Fixture): [number | string, number] => [sortValue[sortBy](f, c.ids.get(f.name)!), c.ids.get(f.name)!];
      const expected = [...fixtures]
        .sort((a, b) => {
          const [va, ia] = key(a);
          const [vb, ib] = key(b);
          return sign * (va < vb ? -1 : va > vb ? 1 : ia - ib);
        })
        .map((f) => f.name);
      expect(names(await getProductsWithFilters(db, {}, { ...all, sortBy, order }))).toEqual(expected);
    },
  );

  it.each(['price', 'quantity', 'created_at', 'updated_at'] as const)(
    'page through 25 rows tied on %s with limit 7, in both directions, without repeats or gaps',
    async (sortBy) => {
      // Explicit ids inserted out of order, so the heap order differs from id order and only the tie-breaker can
      // make the order total.
      const ids = Array.from({ length: 25 }, (_, i) => 900_000 + ((i * 7) % 25));
      await db.sequelize.query(
        `INSERT INTO products (id, name, price, quantity)
         SELECT id, 'Одинаковый товар ' || id, 100, 5 FROM unnest($1::integer[]) AS id`,
        { bind: [ids] },
      );
      for (const order of ['asc', 'desc'] as const) {
        const seen: number[] = [];
        for (let skip = 0; skip < 35; skip += 7) {
          const page = await getProductsWithFilters(db, {}, { skip, limit: 7, sortBy, order });
          expect(page.total).toBe(25);
          expect(page.rows).toHaveLength(Math.max(0, Math.min(7, 25 - skip)));
          seen.push(...page.rows.map((row) => row.id));
        }
        const ascending = [...ids].sort((a, b) => a - b);
        expect(seen).toEqual(order === 'asc' ? ascending : ascending.reverse());
      }
    },
  );
});

describe('searchProducts', () => {
  it('find Cyrillic names in any letter case, with filters and a total', async () => {
    await catalog();
    const page = await searchProducts(db, 'НОУТБУК', {}, all);
    expect(sorted(names(page))).toEqual(['Ноутбук ASUS ZenBook 14', 'Ноутбук Lenovo IdeaPad 5']);
    expect(page.total).toBe(2);
    const filtered = await searchProducts(db, 'ноутбук', { inStock: true }, { skip: 0, limit: 1, order: 'desc' });
    expect(filtered).toMatchObject({ total: 1, rows: [{ name: 'Ноутбук Lenovo IdeaPad 5' }] });
  });

  it('still count every match on a page past the last one, by relevance and by an explicit sort', async () => {
    await catalog();
    expect(await searchProducts(db, 'ноутбук', {}, { skip: 5, limit: 10, order: 'desc' })).toEqual({ rows: [], total: 2, nextCursor: null });
    expect(await searchProducts(db, 'ноутбук', { inStock: true }, { skip: 1, limit: 10, order: 'desc' })).toEqual({ rows: [], total: 1, nextCursor: null });
    expect(await searchProducts(db, 'ноутбук', {}, { skip: 5, limit: 10, order: 'desc', sortBy: 'price' })).toEqual({ rows: [], total: 2, nextCursor: null });
  });

  it.each([
    ['%', ['Хлопок 100%', 'Скидка 50% на всё'], ['Хлопок 100', 'Без скидки']],
    ['100%', ['Хлопок 100%'], ['Хлопок 1000', 'Хлопок 100']],
    ['_', ['file_name.txt'], ['filename.txt']],
    ['file_name', ['file_name.txt'], ['fileXname.txt', 'file-name.txt']],
    ['\\', ['C:\\Temp', 'Обратный \\ слеш'], ['C:Temp']],
    ['C:\\Temp', ['C:\\Temp'], ['C:Temp', 'C:\\\\Temp']],
    ['\\%', ['Знак \\% в имени'], ['Знак % в имени', 'Знак \\ в имени']],
  ])('match %j literally, never as a wildcard', async (q, matching, others) => {
    await products(...matching, ...others);
    const expected = sorted(matching);
    expect(sorted(names(await searchProducts(db, q, {}, all)))).toEqual(expected);
    expect(sorted(names(await searchProducts(db, q, {}, { ...all, sortBy: 'id' })))).toEqual(expected);
    expect(sorted(names(await getProductsWithFilters(db, { q }, all)))).toEqual(expected);
  });

  it('rank exact names (ignoring case) first, then prefixes, then the rest, ties by name', async () => {
    await products('Кухонный стол', 'Стол письменный', 'Стул', 'стол', 'Журнальный стол', 'Стол обеденный');
    const ranked = ['стол', 'Стол обеденный', 'Стол письменный', 'Журнальный стол', 'Кухонный стол'];
    expect(names(await searchProducts(db, 'СТОЛ', {}, all))).toEqual(ranked);
  });

  it('escape wildcards in the prefix rank too', async () => {
    // 'aBc a_c' contains q but does not start with it; read as a wildcard, `_` would rank it as a prefix, before 'a_c деталь'.
    await products('aBc a_c', 'a_c деталь', 'a_c');
    expect(names(await searchProducts(db, 'A_C', {}, all))).toEqual(['a_c', 'a_c деталь', 'aBc a_c']);
  });

  it('page through the relevance order with a total', async () => {
    await products('Кухонный стол', 'Стол письменный', 'стол', 'Журнальный стол', 'Стол обеденный');
    const first = await searchProducts(db, 'стол', {}, { skip: 0, limit: 2, order: 'desc' });
    const second = await searchProducts(db, 'стол', {}, { skip: 2, limit: 2, order: 'desc' });
    const third = await searchProducts(db, 'стол', {}, { skip: 4, limit: 2, order: 'desc' });
    expect([first.total, second.total, third.total]).toEqual([5, 5, 5]);
    expect([...names(first), ...names(second), ...names(third)]).toEqual([
      'стол',
      'Стол обеденный',
      'Стол письменный',
      'Журнальный стол',
      'Кухонный стол',
    ]);
  });

  it('let an explicit sort_by win over relevance', async () => {
    const ids = await products('Кухонный стол', 'Стол письменный', 'стол', 'Журнальный стол');
    const prices = [300, 100, 400, 200];
    for (const [i, id] of ids.entries()) await updateProduct(db, id, { price: prices[i] });
    expect(names(await searchProducts(db, 'стол', {}, { ...all, sortBy: 'price', order: 'asc' }))).toEqual([
      'Стол письменный',
      'Журнальный стол',
      'Кухонный стол',
      'стол',
    ]);
    expect(names(await searchProducts(db, 'стол', {}, { ...all, sortBy: 'id', order: 'desc' }))).toEqual([
      'Журнальный стол',
      'стол',
      'Стол письменный',
      'Кухонный стол',
    ]);
  });
});

describe('escapeLike', () => {
  it('escape exactly the three LIKE metacharacters', () => {
    expect(escapeLike('50%_off\\now')).toBe('50\\%\\_off\\\\now');
    expect(escapeLike('Ноутбук')).toBe('Ноутбук');
  });
});

describe('getProductsByCategory', () => {
  it('list the category named in any letter case, with filters', async () => {
    await catalog();
    const page = await getProductsByCategory(db, 'эЛЕКТРОНИКА', {}, all);
    expect(sorted(names(page!))).toEqual(sorted(['Ноутбук Lenovo IdeaPad 5', 'Ноутбук ASUS ZenBook 14', 'Смартфон Samsung Galaxy']));
    expect(page?.total).toBe(3);
    expect(await getProductsByCategory(db, 'ЭЛЕКТРОНИКА', { inStock: false }, all)).toMatchObject({
      total: 1,
      rows: [{ name: 'Ноутбук ASUS ZenBook 14' }],
    });
    expect(await getProductsByCategory(db, 'мебель', {}, all)).toEqual({ rows: [], total: 0, nextCursor: null });
  });

  it('return null for an unknown category', async () => {
    await catalog();
    expect(await getProductsByCategory(db, 'Игрушки', {}, all)).toBeNull();
  });
});

describe('single-product reads and writes', () => {
  it('create with every field, read it back, and null for a missing id', async () => {
    const { id: categoryId } = await createCategory(db, { name: 'Электроника' });
    const created = await createProduct(db, {
      name: 'Ноутбук Lenovo IdeaPad 5',
      description: '14", 16 GB RAM',
      price: 74_990.5,
      quantity: 12,
      sku: 'LEN-IP5-14',
      category_id: categoryId,
    });
    expect(created).toMatchObject({
      name: 'Ноутбук Lenovo IdeaPad 5',
      description: '14", 16 GB RAM',
      price: '74990.50',
      quantity: 12,
      sku: 'LEN-IP5-14',
      category_id: categoryId,
      category_name: 'Электроника',
    });
    expect(await getProductById(db, created.id)).toEqual(created);
    expect(await getProductById(db, created.id + 1_000)).toBeNull();
    expect(await createProduct(db, { name: 'Минимум', price: 0 })).toMatchObject({
      price: '0.00',
      quantity: 0,
      description: null,
      sku: null,
      category_id: null,
      category_name: null,
    });
  });

  it('update only the fields given, move updated_at forward, and null for a missing id', async () => {
    const { id: categoryId } = await createCategory(db, { name: 'Книги' });
    const created = await createProduct(db, { name: 'Роман', description: 'Твёрдый переплёт', price: 590, quantity: 3, sku: 'BOOK-1' });
    const updated = await updateProduct(db, created.id, { price: 649.99, category_id: categoryId, description: null });
    expect(updated).toMatchObject({
      id: created.id,
      name: 'Роман',
      description: null,
      price: '649.99',
      quantity: 3,
      sku: 'BOOK-1',
      category_id: categoryId,
      category_name: 'Книги',
      created_at: created.created_at,
    });
    expect(updated!.updated_at.getTime()).toBeGreaterThanOrEqual(created.updated_at.getTime());
    const [stamps] = await db.sequelize.query<{ moved: boolean }>(
      `SELECT updated_at > $2::timestamptz AS moved FROM products WHERE id = $1`,
      { bind: [created.id, created.updated_at.toISOString()], type: QueryTypes.SELECT },
    );
    expect(stamps?.moved).toBe(true);
    expect(await updateProduct(db, created.id, {})).toEqual(updated);
    expect(await updateProduct(db, created.id + 1_000, { price: 1 })).toBeNull();
  });

  it('delete once, then report false; the product is gone from every read', async () => {
    const { id } = await createProduct(db, { name: 'Временный товар', price: 1 });
    expect(await deleteProduct(db, id)).toBe(true);
    expect(await deleteProduct(db, id)).toBe(false);
    expect(await getProductById(db, id)).toBeNull();
    expect((await getProductsWithFilters(db, {}, all)).total).toBe(0);
    expect((await searchProducts(db, 'Временный', {}, all)).total).toBe(0);
  });
});

describe('updateProductQuantity', () => {
  it('set, increment and decrement, returning the row as it stood right after', async () => {
    const { id } = await createProduct(db, { name: 'Стул', price: 1990, quantity: 2 });
    expect(await updateProductQuantity(db, id, { quantity: 7 })).toMatchObject({ status: 'ok', row: { id, quantity: 7 } });
    expect(await updateProductQuantity(db, id, { delta: 5 })).toMatchObject({ status: 'ok', row: { id, quantity: 12 } });
    expect(await updateProductQuantity(db, id, { delta: -12 })).toMatchObject({ status: 'ok', row: { id, quantity: 0 } });
    expect(await updateProductQuantity(db, id, { quantity: 0 })).toMatchObject({ status: 'ok', row: { id, quantity: 0 } });
    expect((await getProductById(db, id))?.quantity).toBe(0);
  });

  it('refuse to go below zero and change nothing', async () => {
    const { id } = await createProduct(db, { name: 'Стол', price: 4990, quantity: 3 });
    const before = await getProductById(db, id);
    expect(await updateProductQuantity(db, id, { delta: -4 })).toEqual({ status: 'insufficient', quantity: 3 });
    expect(await getProductById(db, id)).toEqual(before);
  });

  it('report not_found for a missing product, whatever the change', async () => {
    const { id } = await createProduct(db, { name: 'Шкаф', price: 12_990, quantity: 1 });
    await deleteProduct(db, id);
    expect(await updateProductQuantity(db, id, { delta: -1 })).toEqual({ status: 'not_found' });
    expect(await updateProductQuantity(db, id, { delta: 1 })).toEqual({ status: 'not_found' });
    expect(await updateProductQuantity(db, id, { quantity: 5 })).toEqual({ status: 'not_found' });
  });
});

describe('SQL injection', () => {
  it.each([
    ['a tautology', "' OR 1=1 --"],
    ['a stacked DROP TABLE', "'; DROP TABLE products; --"],
    ['a quoted tautology', "x' OR '1'='1"],
    ['a bind placeholder', '$1'],
    ['a comment after a real name', "Ноутбук' --"],
  ])('treat %s in a value as plain text', async (_label, attack) => {
    await catalog();
    const before = await productCount();
    expect((await getProductsWithFilters(db, { q: attack }, all)).total).toBe(0);
    expect((await getProductsWithFilters(db, { category: attack }, all)).total).toBe(0);
    expect((await searchProducts(db, attack, {}, all)).total).toBe(0);
    expect(await getProductsByCategory(db, attack, {}, all)).toBeNull();
    const stored = await createProduct(db, { name: attack, price: 1, description: attack });
    expect(await getProductById(db, stored.id)).toMatchObject({ name: attack, description: attack });
    expect(names(await searchProducts(db, attack, {}, all))).toEqual([attack]);
    expect(await productCount()).toBe(before + 1);
    expect((await listCategories(db)).map((c) => c.name)).toEqual(['Книги', 'Мебель', 'Одежда', 'Электроника']);
  });
});

describe('categories', () => {
  it('list by name ignoring letter case, with product counts', async () => {
    await catalog();
    await createCategory(db, { name: 'аксессуары' });
    const list = await listCategories(db);
    expect(list.map((c) => [c.name, c.product_count])).toEqual([
      ['аксессуары', 0],
      ['Книги', 1],
      ['Мебель', 0],
      ['Одежда', 2],
      ['Электроника', 3],
    ]);
  });

  it('create, read, update and delete', async () => {
    const created = await createCategory(db, { name: 'Игрушки', description: 'Для детей' });
    expect(created).toMatchObject({ name: 'Игрушки', description: 'Для детей', product_count: 0 });
    await createProduct(db, { name: 'Конструктор', price: 2490, category_id: created.id });
    expect(await getCategoryById(db, created.id)).toMatchObject({ id: created.id, product_count: 1 });
    expect(await getCategoryById(db, created.id + 1_000)).toBeNull();

    const renamed = await updateCategory(db, created.id, { name: 'Игрушки и игры' });
    expect(renamed).toMatchObject({ name: 'Игрушки и игры', description: 'Для детей', product_count: 1 });
    expect(renamed!.updated_at.getTime()).toBeGreaterThanOrEqual(created.updated_at.getTime());
    expect(await updateCategory(db, created.id, { description: null })).toMatchObject({ name: 'Игрушки и игры', description: null });
    expect(await updateCategory(db, created.id + 1_000, { name: 'Нет' })).toBeNull();

    const empty = await createCategory(db, { name: 'Пустая' });
    expect(await deleteCategory(db, empty.id)).toBe(true);
    expect(await deleteCategory(db, empty.id)).toBe(false);
  });

  it('refuse a duplicate name in any letter case', async () => {
    await createCategory(db, { name: 'Книги' });
    // Sequelize's own error, the driver's underneath as `parent`.
    const duplicate = { name: 'SequelizeUniqueConstraintError', parent: { code: '23505', constraint: 'categories_name_lower_key' } };
    await expect(createCategory(db, { name: 'КНИГИ' })).rejects.toMatchObject(duplicate);
    const other = await createCategory(db, { name: 'Журналы' });
    await expect(updateCategory(db, other.id, { name: 'книги' })).rejects.toMatchObject(duplicate);
  });

  it('refuse to delete a category still in use, deleting nothing', async () => {
    const c = await catalog();
    const id = c.categories.get('Одежда')!;
    // PostgreSQL 18 reports a RESTRICT violation as 23001, earlier versions as 23503.
    const error: unknown = await deleteCategory(db, id).catch((e: unknown) => e);
    expect(['23001', '23503']).toContain((error as { parent?: { code?: string } }).parent?.code);
    expect(await getCategoryById(db, id)).toMatchObject({ name: 'Одежда', product_count: 2 });
  });
});
