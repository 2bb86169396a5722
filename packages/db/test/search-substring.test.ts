import { QueryTypes } from 'sequelize';
import { beforeEach, describe, expect, it } from 'vitest';
import { createProduct, deleteProduct, escapeLike, searchProducts, updateProduct, type PageOptions } from '../src/store/products.js';
import { useMigratedDatabase } from '../src/fixture.js';

const db = useMigratedDatabase();
beforeEach(async () => {
  await db.sequelize.query('TRUNCATE products, categories');
});

// Case variants of first words, several first words starting with `q`, names equal to `q`, `q` later in a name or
// both at its start and later, a space in `q`, wildcards: each rank has rows and several first words feed rank 2.
const NAMES = [
  'Стол', 'стол', 'СТОЛ', 'Стол обеденный', 'стол письменный', 'СТОЛ письменный', 'Столик кофейный', 'столешница дуб',
  'СТОЛЕШНИЦА бук', 'Кухонный стол', 'Письменный столик', 'Стол и стол', 'Стул', 'Стол  двойной пробел', 'Журнальный СТОЛ',
  'a_c', 'a_c деталь', 'aBc a_c', 'abc', 'Ноутбук Lenovo', 'ноутбук lenovo ideapad', 'Игровой ноутбук', 'Ноутбуки',
];

/** The v1 order, written plainly: exact name ignoring case, then names starting with `q`, then the rest; by name, id. */
async function reference(q: string): Promise<number[]> {
  const rows = await db.sequelize.query<{ id: number }>(
    `SELECT id FROM products WHERE lower(name) LIKE lower($1)
     ORDER BY CASE WHEN lower(name) = lower($2) THEN 0 WHEN starts_with(lower(name), lower($2)) THEN 1 ELSE 2 END, name, id`,
    { bind: [`%${escapeLike(q)}%`, q], type: QueryTypes.SELECT },
  );
  return rows.map((row) => row.id);
}

/** Every page of the relevance order at this page size, and the totals they carried. */
async function walk(q: string, limit: number): Promise<{ ids: number[]; totals: Set<number | null> }> {
  const ids: number[] = [];
  const totals = new Set<number | null>();
  for (let skip = 0; skip <= NAMES.length; skip += limit) {
    const page = await searchProducts(db, q, {}, { skip, limit, order: 'desc' } satisfies PageOptions);
    ids.push(...page.rows.map((row) => row.id));
    totals.add(page.total);
  }
  return { ids, totals };
}

async function maintained(): Promise<{ counted: Record<string, number>; actual: Record<string, number> }> {
  const read = async (text: string) =>
    Object.fromEntries((await db.sequelize.query<{ word: string; n: number }>(text, { type: QueryTypes.SELECT })).map((row) => [row.word, row.n]));
  return {
    counted: await read('SELECT word, sum(n)::int AS n FROM search_first_words GROUP BY word HAVING sum(n) <> 0'),
    actual: await read(`SELECT split_part(lower(name), ' ', 1) AS word, count(*)::int AS n FROM products GROUP BY 1`),
  };
}

describe('search by substring, relevance order without other filters', () => {
  it.each(['стол', 'СТОЛ', 'Стол', 'столе', 'тол', 'стол письменный', 'стол  двойной', 'a_c', 'A_C', 'ноутбук', 'ноутбук lenovo', 'nothing'])(
    'orders and counts %j as the v1 order, page by page',
    async (q) => {
      for (const name of NAMES) await createProduct(db, { name, price: 10, quantity: 1 });
      const expected = await reference(q);
      for (const limit of [1, 2, 5, 100]) {
        const { ids, totals } = await walk(q, limit);
        expect(ids).toEqual(expected);
        expect([...totals]).toEqual([expected.length]);
      }
      expect((await searchProducts(db, q, {}, { skip: 0, limit: 5, order: 'desc', count: 'none' })).total).toBeNull();
    },
  );

  it('keeps the first words counted through inserts, renames, deletes and TRUNCATE', async () => {
    const ids = [];
    for (const name of NAMES) ids.push((await createProduct(db, { name, price: 10, quantity: 1 })).id);
    let state = await maintained();
    expect(state.counted).toEqual(state.actual);
    await updateProduct(db, ids[0]!, { name: 'Табурет стол' });
    await updateProduct(db, ids[1]!, { name: 'стол обновлённый' });
    await deleteProduct(db, ids[2]!);
    await db.sequelize.query(`UPDATE products SET name = 'СТОЛИК ' || id WHERE name LIKE 'Стол%'`);
    state = await maintained();
    expect(state.counted).toEqual(state.actual);
    const { ids: found, totals } = await walk('стол', 3);
    expect(found).toEqual(await reference('стол'));
    expect([...totals]).toEqual([found.length]);
    await db.sequelize.query('TRUNCATE products');
    expect(await maintained()).toEqual({ counted: {}, actual: {} });
    expect(await searchProducts(db, 'стол', {}, { skip: 0, limit: 5, order: 'desc' })).toEqual({ rows: [], total: 0, nextCursor: null });
  });
});
