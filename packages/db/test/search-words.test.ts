/**
 * Search by words (contract v1.3) at the database: how names fold into words, and the dictionary of name words
 * that the triggers keep equal to what the names hold, through every kind of write, and without making concurrent
 * writers of the same words wait on each other.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { QueryTypes } from 'sequelize';
import { beforeEach, describe, expect, inject, it } from 'vitest';
import { useMigratedDatabase } from '../src/fixture.js';
import { createDatabase } from '../src/connection/database.js';
import { createMigrator } from '../src/schema/migrator.js';
import { createProduct, deleteProduct, updateProduct } from '../src/store/products.js';
import { createTestDatabase, withDatabaseName } from '../src/testing.js';

const db = useMigratedDatabase();
beforeEach(async () => {
  await db.sequelize.query('TRUNCATE products, categories');
});

const select = <T extends object>(sql: string, bind: unknown[] = []) => db.sequelize.query<T>(sql, { type: QueryTypes.SELECT, bind });

/** The dictionary's counts beside the counts recomputed from the names, each as word → products. */
async function dictionary(): Promise<{ maintained: Record<string, number>; counted: Record<string, number> }> {
  const read = async (sql: string) => Object.fromEntries((await select<{ word: string; n: number }>(sql)).map(({ word, n }) => [word, n]));
  return {
    maintained: await read('SELECT word, sum(n)::int AS n FROM search_word_counts GROUP BY word HAVING sum(n) <> 0'),
    counted: await read('SELECT w AS word, count(*)::int AS n FROM products, unnest(tsvector_to_array(catalog_word_vector(catalog_words(name)))) AS w GROUP BY w'),
  };
}

describe('words of a name', () => {
  it('fold case, ё and Latin diacritics, keep й, delete apostrophes and split on everything else', async () => {
    const [row] = await select<{ words: string[] }>(`SELECT catalog_words($1) AS words`, ['Кресло IKEA Poäng, берёза — Levi’s L\'Oréal ЙОГУРТ Wi-Fi 3,2% Crème']);
    expect(row!.words).toEqual(['кресло', 'ikea', 'poang', 'береза', 'levis', 'loreal', 'йогурт', 'wi', 'fi', '3', '2', 'creme']);
    const [latin] = await select<{ latin: string }>(`SELECT catalog_latin('щука ёжик холодильник юла яхта йод цех чай шар объём') AS latin`);
    expect(latin!.latin).toBe('shchuka ezhik kholodilnik iula iakhta iod tsekh chai shar obem');
    const [stems] = await select<{ ru: string; en: string; code: string }>(`SELECT catalog_stem('ноутбуками') AS ru, catalog_stem('books') AS en, catalog_stem('x1504') AS code`);
    expect(stems).toEqual({ ru: 'ноутбук', en: 'book', code: 'x1504' });
  });
});

describe('the dictionary of name words', () => {
  it('follows inserts, renames, deletes, bulk statements and TRUNCATE', async () => {
    const one = await createProduct(db, { name: 'Ноутбук Lenovo IdeaPad', price: 1 });
    const two = await createProduct(db, { name: 'Ноутбук ASUS', price: 1 });
    await db.sequelize.query(`INSERT INTO products (name, price) SELECT 'Товар ' || (g % 7) || ' ноутбук', 1 FROM generate_series(1, 50) g`);
    let state = await dictionary();
    expect(state.maintained).toEqual(state.counted);
    expect(state.maintained['ноутбук']).toBe(52);
    // Each ordered pair of a name's distinct letter words, once per name: no pair with a number or a repeated word.
    expect(state.maintained['>ноутбук lenovo']).toBe(1);
    expect(state.maintained['>товар ноутбук']).toBe(50);
    expect(Object.keys(state.maintained).filter((word) => word.startsWith('>')).sort()).toEqual(['>lenovo ideapad', '>ноутбук asus', '>ноутбук ideapad', '>ноутбук lenovo', '>товар ноутбук'].sort());

    await updateProduct(db, one.id, { name: 'Планшет Lenovo Tab' });
    await updateProduct(db, two.id, { price: 5 });
    await db.sequelize.query(`UPDATE products SET name = replace(name, 'Товар', 'Изделие') WHERE name LIKE 'Товар 3%'`);
    await deleteProduct(db, two.id);
    await db.sequelize.query(`DELETE FROM products WHERE name LIKE 'Товар 1%'`);
    state = await dictionary();
    expect(state.maintained).toEqual(state.counted);
    expect(state.maintained).not.toHaveProperty('ideapad');
    expect(state.maintained).not.toHaveProperty('asus');
    expect(state.maintained['планшет']).toBe(1);

    await db.sequelize.query('TRUNCATE products');
    expect(await select('SELECT * FROM search_words')).toEqual([]);
    expect(await select('SELECT * FROM search_word_counts')).toEqual([]);
    await createProduct(db, { name: 'Ноутбук', price: 1 });
    state = await dictionary();
    expect(state.maintained).toEqual({ ноутбук: 1 });
  });

  // A word new to the dictionary is a new unique key: a second writer of it waits for the first to commit, as with any
  // unique key. Words the dictionary holds (nearly every word of a busy catalog) never make writers wait.
  it('lets two open transactions write the same known words without waiting on each other', async () => {
    await createProduct(db, { name: 'Общее слово', price: 1 });
    const first = new pg.Client({ connectionString: db.url });
    const second = new pg.Client({ connectionString: db.url });
    await Promise.all([first.connect(), second.connect()]);
    try {
      await first.query('BEGIN');
      await first.query(`INSERT INTO products (name, price) VALUES ('Общее слово', 1)`);
      // Were the counter rows shared, this insert would wait for the first transaction (and the test would time out).
      await second.query('BEGIN');
      await second.query(`INSERT INTO products (name, price) VALUES ('Общее слово', 2)`);
      await second.query('COMMIT');
      await first.query('COMMIT');
    } finally {
      await Promise.all([first.end(), second.end()]);
    }
    const state = await dictionary();
    expect(state.maintained).toEqual({ общее: 3, слово: 3, '>общее слово': 3 });
  });
});

describe('the extensions', () => {
  it('fail the migration with a hint to create them, where the role may not', async () => {
    const admin = inject('adminUrl');
    const database = await createTestDatabase(admin, 'noext');
    const role = `noext_${randomBytes(4).toString('hex')}`;
    const adminOf = new pg.Client({ connectionString: database.url });
    await adminOf.connect();
    // Everything earlier migrations need (pg_trgm, a schema to create in), but no right to create extensions.
    await adminOf.query('CREATE EXTENSION pg_trgm');
    await adminOf.query(`CREATE ROLE ${role} LOGIN`);
    await adminOf.query(`GRANT CREATE, USAGE ON SCHEMA public TO ${role}`);
    await adminOf.end();
    const url = new URL(withDatabaseName(admin, new URL(database.url).pathname.slice(1)));
    url.username = role;
    url.password = '';
    const limited = createDatabase({ url: url.toString() });
    try {
      await expect(createMigrator(limited).up()).rejects.toMatchObject({
        message: expect.stringContaining('cannot create the extensions of search by words') as string,
      });
    } finally {
      await limited.close();
      await database.drop();
      const cleanup = new pg.Client({ connectionString: admin });
      await cleanup.connect();
      await cleanup.query(`DROP ROLE ${role}`);
      await cleanup.end();
    }
  });
});
