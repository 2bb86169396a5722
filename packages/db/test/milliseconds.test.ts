/** Contract v1.3 "cursors are exact": every shown timestamp is stored to the millisecond, by every writer, guarded by the database. */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDatabase, type Database } from '../src/connection/database.js';
import { useMigratedDatabase } from '../src/fixture.js';
import { createMigrator } from '../src/schema/migrator.js';
import { createCategory, updateCategory, deleteCategory } from '../src/store/categories.js';
import { createProduct, createProductOnce, deleteProduct, updateProduct, updateProductQuantity } from '../src/store/products.js';
import { upsertProducts } from '../src/store/upsert.js';
import { seed } from '../src/ops/seed.js';
import { createTestDatabase, type TestDatabase } from '../src/testing.js';

const db = useMigratedDatabase();

const MIGRATION = '2026.12.06T10.00.00.timestamps-to-the-millisecond';
const STAMPED = { products: ['created_at', 'updated_at'], categories: ['created_at', 'updated_at'], events: ['occurred_at'] } as const;

/** Per table, how many rows it holds and how many carry a timestamp finer than a millisecond. */
async function finerThanMilliseconds(target: Database): Promise<Record<string, { rows: number; finer: number }>> {
  const counts: Record<string, { rows: number; finer: number }> = {};
  for (const [table, columns] of Object.entries(STAMPED)) {
    const finer = columns.map((column) => `${column} <> date_trunc('milliseconds', ${column})`).join(' OR ');
    const [row] = await target.query<{ rows: number; finer: number }>(`SELECT count(*)::int AS rows, count(*) FILTER (WHERE ${finer})::int AS finer FROM ${table}`);
    counts[table] = row!;
  }
  return counts;
}

const pgCode = (error: unknown) => (error as { original?: { code?: string } } | undefined)?.original?.code;

describe('every write path stores whole milliseconds', () => {
  it('create, update, stock change, bulk create and update, keyed create, categories, deletes and their events', async () => {
    await seed(db);
    const category = await createCategory(db, { name: 'Миллисекунды' });
    await updateCategory(db, category.id, { description: 'после правки' });
    const doomed = await createCategory(db, { name: 'Удаляемая' });
    await deleteCategory(db, doomed.id);
    const product = await createProduct(db, { name: 'Точный', price: 1, category_id: category.id });
    await updateProduct(db, product.id, { price: 2 });
    await updateProductQuantity(db, product.id, { delta: 3 });
    await updateProductQuantity(db, product.id, { quantity: 1 });
    const keyed = await createProductOnce(db, { scope: 'test', key: 'ms-1', hash: 'a'.repeat(64) }, { name: 'По ключу', price: 1 }, { status: 201, locationPrefix: '/products' });
    expect(keyed.replayed).toBe(false);
    const items = Array.from({ length: 20 }, (_, index) => ({ sku: `MS-${index}`, name: `Пакет ${index}`, price: index }));
    await upsertProducts(db, items);
    await upsertProducts(db, items.map((item) => ({ ...item, price: item.price + 1 })));
    await db.Product.create({ name: 'Через модель', price: '1' });
    await deleteProduct(db, product.id);

    const counts = await finerThanMilliseconds(db);
    for (const [table, { rows, finer }] of Object.entries(counts)) {
      expect(rows, table).toBeGreaterThan(0);
      expect(finer, table).toBe(0);
    }
    // An event's data is the row as changed, so its timestamps are the row's.
    const inData = (field: string) => `(data->>'${field}')::timestamptz`;
    const finerInData = ['created_at', 'updated_at'].map((field) => `${inData(field)} <> date_trunc('milliseconds', ${inData(field)})`).join(' OR ');
    expect(await db.query(`SELECT id FROM events WHERE data IS NOT NULL AND (${finerInData})`)).toEqual([]);
  });

  it('keeps updated_at moving by a whole millisecond when updates come faster than that', async () => {
    const { id } = await createProduct(db, { name: 'Быстрый', price: 1 });
    // In one transaction now() stands still: only the trigger's step moves updated_at.
    const stamps = await db.sequelize.transaction(async (transaction) => {
      const texts: string[] = [];
      for (let i = 0; i < 3; i += 1) {
        const [rows] = await db.sequelize.query(`UPDATE products SET quantity = quantity + 1 WHERE id = $1 RETURNING updated_at::text AS t, (updated_at = date_trunc('milliseconds', updated_at)) AS whole`, {
          bind: [id],
          transaction,
        });
        const { t, whole } = (rows as { t: string; whole: boolean }[])[0]!;
        expect(whole, t).toBe(true);
        texts.push(t);
      }
      return texts;
    });
    expect(new Set(stamps).size).toBe(3);
  });
});

describe('the database refuses a timestamp finer than a millisecond', () => {
  const micro = '2026-12-06 10:00:00.123456+00';
  it.each([
    ['products.created_at', `INSERT INTO products (name, price, created_at) VALUES ('Микро', 1, '${micro}')`],
    ['products.updated_at', `INSERT INTO products (name, price, updated_at) VALUES ('Микро', 1, '${micro}')`],
    ['products.created_at on update', `UPDATE products SET created_at = '${micro}'`],
    ['categories.created_at', `INSERT INTO categories (name, created_at) VALUES ('Микро 1', '${micro}')`],
    ['categories.updated_at', `INSERT INTO categories (name, updated_at) VALUES ('Микро 2', '${micro}')`],
    ['events.occurred_at', `INSERT INTO events (type, entity, entity_id, version, occurred_at) VALUES ('product.deleted', 'product', 0, 1, '${micro}')`],
  ])('%s', async (_column, statement) => {
    await createProduct(db, { name: 'Чтобы было что обновить', price: 1 });
    const error: unknown = await db.sequelize.query(statement).catch((e: unknown) => e);
    expect(pgCode(error)).toBe('23514');
  });
});

describe(`migration ${MIGRATION}`, () => {
  let database: TestDatabase;
  let target: Database;
  const migrator = () => createMigrator(target);
  /** Reverts migrations, latest first, until this one is no longer applied. */
  async function revertThrough(): Promise<void> {
    while ((await migrator().status()).executed.includes(MIGRATION)) await migrator().down({ step: 1 });
  }

  beforeAll(async () => {
    database = await createTestDatabase(inject('adminUrl'));
    target = createDatabase({ url: database.url });
    await migrator().up();
  });
  afterAll(async () => {
    await target.close();
    await database.drop();
  });

  it('truncates stored timestamps without new versions, events or changes to counts and search, and its down lifts the guard', async () => {
    await revertThrough();
    const [category] = await target.query<{ id: number }>(`INSERT INTO categories (name) VALUES ('До миграции') RETURNING id`);
    await target.query(
      `INSERT INTO products (name, price, category_id, created_at, updated_at)
       SELECT 'Старый ' || n, n, $1, '2026-12-01 10:00:00.123456+00', '2026-12-01 10:00:00.123999+00' FROM generate_series(1, 30) n`,
      [category!.id],
    );
    await target.query(`UPDATE products SET quantity = 5 WHERE name = 'Старый 1'`);
    await target.query(`UPDATE categories SET description = 'правка' WHERE id = $1`, [category!.id]);
    const state = async () => ({
      events: await target.query('SELECT id, type, entity_id, version, data FROM events ORDER BY id'),
      products: await target.query('SELECT id, name, quantity, version FROM products ORDER BY id'),
      categories: await target.query('SELECT id, name, version FROM categories ORDER BY id'),
      counts: await target.query('SELECT category_key, sum(n)::int AS n FROM product_counts GROUP BY 1 ORDER BY 1'),
      search: await target.query('SELECT id, name, name_lower FROM product_search ORDER BY id'),
    });
    const before = await state();
    expect((await finerThanMilliseconds(target)).products!.finer).toBe(30);

    await migrator().up();
    expect(await state()).toEqual(before);
    expect(Object.values(await finerThanMilliseconds(target)).every(({ finer }) => finer === 0)).toBe(true);
    const utc = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')`;
    const stamps = await target.query(`SELECT DISTINCT ${utc('created_at')} AS created, ${utc('updated_at')} AS updated FROM products WHERE name <> 'Старый 1'`);
    expect(stamps).toEqual([{ created: '2026-12-01 10:00:00.123000', updated: '2026-12-01 10:00:00.123000' }]);
    // Its triggers are back: a change after the migration has its version and its event.
    const [changed] = await target.query<{ version: number }>(`UPDATE products SET quantity = 7 WHERE name = 'Старый 2' RETURNING version`);
    expect(changed!.version).toBe(2);
    expect((await target.query('SELECT 1 FROM events')).length).toBe(before.events.length + 1);

    await revertThrough();
    await target.query(`INSERT INTO products (name, price, created_at) VALUES ('Снова микро', 1, '2026-12-06 10:00:00.123456+00')`);
    await migrator().up();
    expect((await finerThanMilliseconds(target)).products!.finer).toBe(0);
  });
});
