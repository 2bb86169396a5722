/**
 * Seeding: the contract's four categories with realistic products (idempotent: keyed by category name
 * and sku), and on request N synthetic products for load tests, inserted in batches of bound arrays.
 */
import { randomBytes } from 'node:crypto';
import type { Transaction } from 'sequelize';
import type { Database } from '../connection/database.js';
import { seedCategories, seedProducts } from './seed-data.js';

export interface SeedResult {
  categoriesInserted: number;
  productsInserted: number;
}

const BATCH = 5_000;

// Each batch is one statement with one array per column: no SQL is ever assembled from values.
const INSERT_PRODUCTS = `
  INSERT INTO products (name, description, price, quantity, sku, category_id)
  SELECT * FROM unnest($1::varchar[], $2::varchar[], $3::numeric[], $4::integer[], $5::varchar[], $6::integer[])
  ON CONFLICT (sku) DO NOTHING`;

async function categoryIds(db: Database, transaction?: Transaction): Promise<Map<string, number>> {
  const [rows] = await db.sequelize.query('SELECT id, lower(name) AS key FROM categories', { transaction });
  return new Map((rows as { id: number; key: string }[]).map((row) => [row.key, row.id]));
}

export async function seed(db: Database): Promise<SeedResult> {
  return db.sequelize.transaction(async (transaction) => {
    const [, categoriesInserted] = await db.sequelize.query(
      `INSERT INTO categories (name, description)
       SELECT * FROM unnest($1::varchar[], $2::varchar[])
       ON CONFLICT ((lower(name))) DO NOTHING`,
      {
        bind: [seedCategories.map((c) => c.name), seedCategories.map((c) => c.description)],
        transaction,
      },
    );
    const ids = await categoryIds(db, transaction);
    const [, productsInserted] = await db.sequelize.query(INSERT_PRODUCTS, {
      bind: [
        seedProducts.map((p) => p.name),
        seedProducts.map((p) => p.description),
        seedProducts.map((p) => p.price),
        seedProducts.map((p) => p.quantity),
        seedProducts.map((p) => p.sku),
        seedProducts.map((p) => ids.get(p.category.toLowerCase()) ?? null),
      ],
      transaction,
    });
    return { categoriesInserted: Number(categoriesInserted), productsInserted: Number(productsInserted) };
  });
}

const nouns: Record<string, string[]> = {
  электроника: ['Ноутбук', 'Смартфон', 'Ноутбук', 'Монитор', 'Наушники', 'Ноутбук', 'Планшет', 'Телевизор', 'Ноутбук', 'Роутер'],
  одежда: ['Свитер', 'Пальто', 'Джинсы', 'Куртка', 'Футболка', 'Платье', 'Рубашка', 'Кроссовки', 'Шарф', 'Худи'],
  книги: ['Роман', 'Справочник', 'Учебник', 'Атлас', 'Сборник рассказов', 'Детектив', 'Словарь', 'Энциклопедия', 'Комикс', 'Поэзия'],
  мебель: ['Стол', 'Стул', 'Шкаф', 'Диван', 'Комод', 'Кресло', 'Стеллаж', 'Кровать', 'Тумба', 'Полка'],
};
const brands = ['Lenovo', 'Samsung', 'Xiaomi', 'ASUS', 'Huawei', 'Acer', 'Zara', 'Uniqlo', 'IKEA', 'Hoff', 'Эксмо', 'АСТ', 'Bork', 'Polaris', 'Sony'];

/** Deterministic pseudo-random source, so a seeded catalog is the same on every machine for a given run id. */
function random(seedValue: number): () => number {
  let state = seedValue >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4_294_967_296;
  };
}

export interface SyntheticOptions {
  onProgress?: (done: number, total: number) => void;
}

/**
 * Adds `count` synthetic products spread over the seeded categories; every call adds exactly `count`.
 * Four in ten electronics names (a quarter of the products) say "Ноутбук": a tenth of the catalog matches it.
 */
export async function seedSynthetic(db: Database, count: number, options: SyntheticOptions = {}): Promise<number> {
  const ids = await categoryIds(db);
  const categories = Object.keys(nouns).map((key) => ({ key, id: ids.get(key) ?? null }));
  const run = randomBytes(4).toString('hex').toUpperCase();
  const next = random(Number.parseInt(run, 16));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  let inserted = 0;
  for (let start = 0; start < count; start += BATCH) {
    const size = Math.min(BATCH, count - start);
    const columns: [string[], (string | null)[], string[], number[], string[], (number | null)[]] = [[], [], [], [], [], []];
    for (let i = 0; i < size; i += 1) {
      const n = start + i;
      const category = categories[n % categories.length] ?? { key: 'электроника', id: null };
      const noun = pick(nouns[category.key] ?? ['Товар']);
      columns[0].push(`${noun} ${pick(brands)} ${run.slice(0, 4)}-${n + 1}`);
      columns[1].push(next() < 0.2 ? null : `Синтетический товар для нагрузочных тестов: ${noun.toLowerCase()}.`);
      columns[2].push((Math.floor(next() * 20_000_000) / 100 + 1).toFixed(2));
      columns[3].push(next() < 0.1 ? 0 : Math.floor(next() * 500));
      columns[4].push(`SYN-${run}-${n + 1}`);
      columns[5].push(category.id);
    }
    const [, rowCount] = await db.sequelize.query(INSERT_PRODUCTS, { bind: columns });
    inserted += Number(rowCount);
    options.onProgress?.(inserted, count);
  }
  return inserted;
}
