import pg from 'pg';
import { QueryTypes } from 'sequelize';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createChangeFeed, type ChangeFeed } from '../src/feed/feed.js';
import { useMigratedDatabase } from '../src/fixture.js';
import { createCategory } from '../src/store/categories.js';
import { createCatalogStore } from '../src/store/store.js';

// Room for every writer at once: a wait for a connection must not stand in for a wait on a lock.
const db = useMigratedDatabase({ pool: { max: 24, acquireTimeoutMs: 30_000 } });
let feed: ChangeFeed;
let store: ReturnType<typeof createCatalogStore>;
let categories: number[];

beforeAll(() => {
  feed = createChangeFeed(db);
  store = createCatalogStore(db, feed);
});
afterAll(() => feed.close());
beforeEach(async () => {
  await db.sequelize.query('TRUNCATE products, categories RESTART IDENTITY CASCADE');
  categories = [];
  for (const name of ['Электроника', 'Одежда', 'Книги', 'Мебель']) categories.push((await createCategory(db, { name })).id);
});

const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)]!;

/** Items of one bulk: `count` skus of group `group`, each in a category chosen at random. */
const bulk = (group: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({ sku: `G${group}-${i}`, name: `Товар ${group}-${i}`, price: 100 + i, category_id: pick(categories) }));

/** What product_counts says beside what counting the products says, per category key. */
async function counts() {
  const read = async (sql: string) =>
    Object.fromEntries((await db.sequelize.query<{ key: number; n: number }>(sql, { type: QueryTypes.SELECT })).map(({ key, n }) => [key, n]));
  return {
    maintained: await read('SELECT category_key AS key, sum(n)::int AS n FROM product_counts GROUP BY 1 HAVING sum(n) <> 0'),
    counted: await read('SELECT coalesce(category_id, 0) AS key, count(*)::int AS n FROM products GROUP BY 1'),
  };
}

describe('writers colliding', () => {
  it('bulks of disjoint skus moving products between categories at once all succeed, and the counts stay exact', async () => {
    const groups = [0, 1, 2, 3, 4, 5];
    await Promise.all(groups.map((group) => store.products.upsertMany(bulk(group, 300))));
    for (let round = 0; round < 4; round += 1) {
      // Every bulk moves most of its products to another category: each takes a counter of several categories.
      const outcomes = await Promise.allSettled(groups.map((group) => store.products.upsertMany(bulk(group, 300))));
      const failures = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [String(outcome.reason)] : []));
      expect(failures, `round ${round}`).toEqual([]);
    }
    const { maintained, counted } = await counts();
    expect(maintained).toEqual(counted);
    expect(Object.values(counted).reduce((sum, n) => sum + n, 0)).toBe(1_800);
  });

  it('a bulk, updates, stock changes and deletes moving products between categories at once all succeed, no update lost', async () => {
    await store.products.upsertMany(bulk(0, 300));
    const others = (await store.products.upsertMany(bulk(1, 100))).map((item) => item.id);
    for (let round = 0; round < 4; round += 1) {
      // While the bulk moves its own products, 16 writers keep moving one product each and two change stock or delete.
      const moved = others.slice(round * 20, round * 20 + 16);
      const last = new Map<number, number>();
      const [stocked, deleted] = [others[round * 20 + 16]!, others[round * 20 + 17]!];
      let bulkDone = false;
      const mover = async (id: number) => {
        for (let i = 0; i < 3 || !bulkDone; i += 1) {
          const category = pick(categories);
          await store.products.update(id, { category_id: category });
          last.set(id, category);
        }
      };
      const outcomes = await Promise.allSettled([
        store.products.upsertMany(bulk(0, 300)).finally(() => (bulkDone = true)),
        ...moved.map(mover),
        store.products.changeQuantity(stocked, { delta: 5 }),
        store.products.delete(deleted),
      ]);
      const failures = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [String(outcome.reason)] : []));
      expect(failures, `round ${round}`).toEqual([]);
      for (const id of moved) expect((await store.products.byId(id))?.category_id).toBe(last.get(id));
      expect((await store.products.byId(stocked))?.quantity).toBe(5);
      expect(await store.products.byId(deleted)).toBeNull();
    }
    const { maintained, counted } = await counts();
    expect(maintained).toEqual(counted);
  });

  it('a write chosen as a deadlock victim is run again and succeeds, not answered with the deadlock', async () => {
    await store.products.upsertMany([
      { sku: 'A', name: 'Первый', price: 1 },
      { sku: 'B', name: 'Второй', price: 1 },
    ]);
    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    try {
      // The other session detects deadlocks late, so PostgreSQL picks the store's statement as the victim.
      await other.query(`SET deadlock_timeout = '20s'`);
      await other.query('BEGIN');
      await other.query(`UPDATE products SET price = 5 WHERE sku = 'B'`);
      // The bulk locks A, then waits for B.
      const bulk = store.products.upsertMany([
        { sku: 'A', name: 'Первый', price: 9 },
        { sku: 'B', name: 'Второй', price: 9 },
      ]);
      await expect.poll(async () => (await other.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted`)).rows[0]!.n).toBeGreaterThan(0);
      // Now the other session waits for A: a cycle, which the store's side breaks by failing; its retry then waits its turn.
      const crossing = other.query(`UPDATE products SET price = 5 WHERE sku = 'A'`);
      await crossing;
      await other.query('COMMIT');
      expect((await bulk).map(({ status }) => status)).toEqual(['updated', 'updated']);
      const prices = await db.sequelize.query<{ sku: string; price: string }>(`SELECT sku, price::text FROM products WHERE sku IN ('A', 'B') ORDER BY sku`, { type: QueryTypes.SELECT });
      expect(prices).toEqual([
        { sku: 'A', price: '9.00' },
        { sku: 'B', price: '9.00' },
      ]);
    } finally {
      await other.end();
    }
  });
});
