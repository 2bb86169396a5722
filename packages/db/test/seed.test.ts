import { describe, expect, it } from 'vitest';
import { seed, seedSynthetic } from '../src/ops/seed.js';
import { seedCategories, seedProducts } from '../src/ops/seed-data.js';
import { useMigratedDatabase } from '../src/fixture.js';

const db = useMigratedDatabase();

async function snapshot(): Promise<unknown[]> {
  const [rows] = await db.sequelize.query(
    `SELECT p.id, p.name, p.description, p.price::text, p.quantity, p.sku, c.name AS category
     FROM products p LEFT JOIN categories c ON c.id = p.category_id ORDER BY p.id`,
  );
  return rows;
}

describe('seed', () => {
  it('fills the four categories with realistic products, and a second run changes nothing', async () => {
    expect(await seed(db)).toEqual({ categoriesInserted: 4, productsInserted: seedProducts.length });
    const first = await snapshot();
    expect(first.length).toBeGreaterThanOrEqual(40);
    expect(await seed(db)).toEqual({ categoriesInserted: 0, productsInserted: 0 });
    expect(await snapshot()).toEqual(first);

    const [categories] = await db.sequelize.query(
      `SELECT c.name, count(p.id)::int AS products, count(p.id) FILTER (WHERE p.quantity = 0)::int AS out_of_stock
       FROM categories c LEFT JOIN products p ON p.category_id = c.id GROUP BY c.name ORDER BY c.name`,
    );
    expect((categories as { name: string }[]).map((c) => c.name)).toEqual(seedCategories.map((c) => c.name).sort());
    for (const row of categories as { products: number }[]) expect(row.products).toBeGreaterThanOrEqual(10);
    expect((categories as { out_of_stock: number }[]).some((row) => row.out_of_stock > 0)).toBe(true);
  });

  it('adds exactly N synthetic products each time, reporting progress', async () => {
    const count = async () => Number(((await db.sequelize.query('SELECT count(*) AS n FROM products'))[0] as { n: string }[])[0]!.n);
    const before = await count();
    const progress: number[] = [];
    expect(await seedSynthetic(db, 1000, { onProgress: (done) => progress.push(done) })).toBe(1000);
    expect(await seedSynthetic(db, 1000)).toBe(1000);
    expect(await count()).toBe(before + 2000);
    expect(progress.at(-1)).toBe(1000);

    const [rows] = await db.sequelize.query(`SELECT count(*) FILTER (WHERE name ILIKE '%ноутбук%')::float / count(*) AS share, count(category_id)::int AS categorized, count(*)::int AS total FROM products WHERE sku LIKE 'SYN-%'`);
    const { share, categorized, total } = (rows as { share: number; categorized: number; total: number }[])[0]!;
    expect(share).toBeGreaterThan(0.07);
    expect(share).toBeLessThan(0.13);
    expect(categorized).toBe(total);
  });
});
