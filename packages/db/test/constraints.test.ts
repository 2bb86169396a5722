import { beforeAll, describe, expect, it } from 'vitest';
import { useMigratedDatabase } from '../src/fixture.js';

const db = useMigratedDatabase();
let categoryId: number;

beforeAll(async () => {
  const [rows] = await db.sequelize.query(`INSERT INTO categories (name) VALUES ('Книги') RETURNING id`);
  categoryId = (rows as { id: number }[])[0]!.id;
  await db.sequelize.query(`INSERT INTO products (name, price, sku, category_id) VALUES ('Мастер и Маргарита', 599, 'BOOK-1', $1)`, {
    bind: [categoryId],
  });
});

/** Raw SQL bypasses the API and the models: only PostgreSQL itself can refuse these rows. */
async function insertProduct(values: Record<string, unknown>): Promise<void> {
  const row = { name: 'Товар', price: 1, ...values };
  const columns = Object.keys(row);
  await db.sequelize.query(
    `INSERT INTO products (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`,
    { bind: Object.values(row) },
  );
}

function pgCode(error: unknown): string | undefined {
  return (error as { parent?: { code?: string } }).parent?.code;
}

describe('database constraints', () => {
  it.each([
    ['negative price', { price: -0.01 }, '23514'],
    ['price above 99 999 999.99', { price: 100_000_000 }, '22003'],
    ['null price', { price: null }, '23502'],
    ['negative quantity', { quantity: -1 }, '23514'],
    ['null quantity', { quantity: null }, '23502'],
    ['empty name', { name: '' }, '23514'],
    ['untrimmed name', { name: ' Товар ' }, '23514'],
    ['name over 200 characters', { name: 'я'.repeat(201) }, '22001'],
    ['description over 5000 characters', { description: 'я'.repeat(5001) }, '22001'],
    ['sku with a space', { sku: 'BAD SKU' }, '23514'],
    ['empty sku', { sku: '' }, '23514'],
    ['sku over 64 characters', { sku: 'A'.repeat(65) }, '22001'],
    ['duplicate sku', { sku: 'BOOK-1' }, '23505'],
    ['unknown category', { category_id: 999_999 }, '23503'],
  ])('products reject %s', async (_label, values, code) => {
    const error: unknown = await insertProduct(values).catch((e: unknown) => e);
    expect(pgCode(error)).toBe(code);
  });

  it('products accept the boundary values', async () => {
    await insertProduct({ name: 'я'.repeat(200), price: 99_999_999.99, quantity: 0, sku: 'a.B_9-z' });
    await insertProduct({ name: 'Бесплатно', price: 0, description: 'я'.repeat(5000) });
  });

  it.each([
    ['a duplicate name in another letter case', 'книги', '23505'],
    ['an empty name', '', '23514'],
    ['a name over 100 characters', 'я'.repeat(101), '22001'],
  ])('categories reject %s', async (_label, name, code) => {
    const error: unknown = await db.sequelize
      .query('INSERT INTO categories (name) VALUES ($1)', { bind: [name] })
      .catch((e: unknown) => e);
    expect(pgCode(error)).toBe(code);
  });

  it('a category still referenced by a product cannot be deleted', async () => {
    const error: unknown = await db.sequelize
      .query('DELETE FROM categories WHERE id = $1', { bind: [categoryId] })
      .catch((e: unknown) => e);
    // PostgreSQL 18 reports ON DELETE RESTRICT as restrict_violation, older servers as foreign_key_violation.
    expect(['23001', '23503']).toContain(pgCode(error));
    const [rows] = await db.sequelize.query('SELECT count(*)::int AS n FROM categories WHERE id = $1', { bind: [categoryId] });
    expect(rows).toEqual([{ n: 1 }]);
  });

  it('updated_at moves strictly forward on every update, even twice in one transaction', async () => {
    const micros = `(extract(epoch FROM updated_at) * 1000000)::bigint::text AS t`;
    const [inserted] = await db.sequelize.query(`INSERT INTO products (name, price) VALUES ('Часы', 10) RETURNING id, ${micros}`);
    const { id, t: created } = (inserted as { id: number; t: string }[])[0]!;
    const stamps = await db.sequelize.transaction(async (transaction) => {
      const update = async () => {
        const [rows] = await db.sequelize.query(`UPDATE products SET quantity = quantity + 1 WHERE id = $1 RETURNING ${micros}`, {
          bind: [id],
          transaction,
        });
        return BigInt((rows as { t: string }[])[0]!.t);
      };
      return [await update(), await update()];
    });
    expect(stamps[0]! > BigInt(created)).toBe(true);
    expect(stamps[1]! > stamps[0]!).toBe(true);
  });

  it('updated_at moves by at least a millisecond, so three updates within one millisecond still differ as returned', async () => {
    const [inserted] = await db.sequelize.query(`INSERT INTO products (name, price) VALUES ('Будильник', 10) RETURNING id`);
    const { id } = (inserted as { id: number }[])[0]!;
    // In one transaction now() stands still: only the trigger's step separates the three values.
    const millis = await db.sequelize.transaction(async (transaction) => {
      const stamps: number[] = [];
      for (let i = 0; i < 3; i += 1) {
        const [rows] = await db.sequelize.query(`UPDATE products SET quantity = quantity + 1 WHERE id = $1 RETURNING updated_at`, { bind: [id], transaction });
        stamps.push((rows as { updated_at: Date }[])[0]!.updated_at.getTime());
      }
      return stamps;
    });
    expect(millis[1]! - millis[0]!).toBeGreaterThanOrEqual(1);
    expect(millis[2]! - millis[1]!).toBeGreaterThanOrEqual(1);
  });

  it('folds Cyrillic case in ILIKE and lower()', async () => {
    const [rows] = await db.sequelize.query(`SELECT 'НОУТБУК' ILIKE '%ноутбук%' AS ilike, lower('ЁЖИК') AS lower`);
    expect(rows).toEqual([{ ilike: true, lower: 'ёжик' }]);
  });
});
