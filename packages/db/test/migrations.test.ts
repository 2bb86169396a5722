import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDatabase, type Database } from '../src/connection/database.js';
import { createMigrator, MIGRATIONS_TABLE } from '../src/schema/migrator.js';
import { createTestDatabase, type TestDatabase } from '../src/testing.js';

const execFileAsync = promisify(execFile);

let database: TestDatabase;
let db: Database;

beforeAll(async () => {
  database = await createTestDatabase(inject('adminUrl'));
  db = createDatabase({ url: database.url });
});
afterAll(async () => {
  await db.close();
  await database.drop();
});

/** Everything a migration can create, in a stable order: tables, columns, constraints, indexes, triggers, extensions. */
async function schema(target: Database): Promise<unknown> {
  const query = async (sql: string) => (await target.sequelize.query(sql))[0];
  return {
    columns: await query(`
      SELECT table_name, column_name, data_type, character_maximum_length, numeric_precision, numeric_scale,
             is_nullable, column_default, is_identity
      FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, column_name`),
    constraints: await query(`
      SELECT conrelid::regclass::text AS table_name, conname, pg_get_constraintdef(oid) AS definition
      FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2`),
    indexes: await query(`SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2`),
    triggers: await query(`SELECT event_object_table, trigger_name, action_statement FROM information_schema.triggers ORDER BY 1, 2`),
    extensions: await query(`SELECT extname FROM pg_extension ORDER BY 1`),
  };
}

async function tables(): Promise<string[]> {
  const [rows] = await db.sequelize.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`);
  return (rows as { tablename: string }[]).map((row) => row.tablename);
}

describe('migrations', () => {
  it('go up, down to base and up again to an identical schema', async () => {
    const migrator = createMigrator(db);
    const applied = await migrator.up();
    expect(applied.length).toBeGreaterThanOrEqual(2);
    expect(applied.every((name) => !/\.(ts|js)$/.test(name))).toBe(true);
    expect(await tables()).toEqual(['categories', 'events', 'events_retention', 'idempotency_keys', 'product_counts', 'product_search', 'product_words', 'products', 'reservation_items', 'reservations', 'search_first_words', 'search_word_counts', 'search_words', MIGRATIONS_TABLE].sort());
    const first = await schema(db);

    expect(await migrator.down({ to: 0 })).toEqual([...applied].reverse());
    expect(await tables()).toEqual([MIGRATIONS_TABLE]);
    expect(await migrator.status()).toEqual({ executed: [], pending: applied });

    expect(await migrator.up()).toEqual(applied);
    expect(await schema(db)).toEqual(first);
  });

  it('revert one at a time, each down undoing exactly its own up', async () => {
    const migrator = createMigrator(db);
    await migrator.up();
    const { executed } = await migrator.status();
    for (let left = executed.length; left > 0; left -= 1) {
      expect(await migrator.down({ step: 1 })).toEqual([executed[left - 1]]);
      expect((await migrator.status()).executed).toEqual(executed.slice(0, left - 1));
    }
    expect(await tables()).toEqual([MIGRATIONS_TABLE]);
    await migrator.up();
  });

  it('serialize concurrent upgrades: both succeed and each migration runs once', async () => {
    await createMigrator(db).down({ to: 0 });
    const other = createDatabase({ url: database.url });
    try {
      const results = await Promise.all([createMigrator(db).up(), createMigrator(other).up(), createMigrator(other).up()]);
      const all = results.flat();
      expect(new Set(all).size).toBe(all.length);
      const [rows] = await db.sequelize.query(`SELECT name FROM ${MIGRATIONS_TABLE} ORDER BY name`);
      expect((rows as { name: string }[]).map((row) => row.name)).toEqual([...all].sort());
    } finally {
      await other.close();
    }
  });

  it('run on a connection of their own, without the service\'s request timeouts', async () => {
    await createMigrator(db).down({ to: 0 });
    // A service whose statements may take 5 ms: every migration here takes longer than that.
    const strict = createDatabase({ url: database.url, statementTimeoutMs: 5, queryTimeoutMs: 5 });
    try {
      await expect(strict.query('SELECT pg_sleep(0.1)')).rejects.toThrow();
      const applied = await createMigrator(strict).up();
      expect(applied).toEqual((await createMigrator(db).status()).executed);
      expect(await createMigrator(strict).down({ to: 0 })).toEqual([...applied].reverse());
    } finally {
      await strict.close();
      await createMigrator(db).up();
    }
  });

  it('refuse a database whose ctype cannot fold Cyrillic: the createdb command in the one line, nothing left behind', async () => {
    const adminUrl = inject('adminUrl');
    const plain = await createTestDatabase(adminUrl, 'ctype_c');
    const admin = createDatabase({ url: adminUrl });
    const name = new URL(plain.url).pathname.slice(1);
    try {
      // Recreate it with the C ctype that Debian's and many hosted servers default to.
      await admin.sequelize.query(`DROP DATABASE "${name}"`);
      await admin.sequelize.query(`CREATE DATABASE "${name}" TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER libc LC_CTYPE 'C' LC_COLLATE 'C'`);
      const target = createDatabase({ url: plain.url });
      try {
        await expect(createMigrator(target).up()).rejects.toThrow(
          `database ${name} cannot fold Cyrillic case (LC_CTYPE C); recreate it with a UTF-8 ctype: createdb -T template0 -E UTF8 --lc-ctype=C.UTF-8 --lc-collate=C.UTF-8 ${name}`,
        );
        // Nothing left behind: not even an empty bookkeeping table.
        const [rows] = await target.sequelize.query(`SELECT to_regclass('${MIGRATIONS_TABLE}') IS NULL AS absent, count(*)::int AS tables FROM pg_tables WHERE schemaname = 'public'`);
        expect(rows).toEqual([{ absent: true, tables: 0 }]);
        // What `pnpm db:migrate` prints: one line, the way out in it.
        const cli = await execFileAsync(process.execPath, [new URL('../dist/ops/cli.js', import.meta.url).pathname, 'upgrade', 'head'], {
          env: { ...process.env, DATABASE_URL: plain.url },
        }).catch((error: { code: number; stderr: string }) => error);
        expect(cli).toMatchObject({ code: 1 });
        expect((cli as { stderr: string }).stderr).toBe(
          `error: P0001 database ${name} cannot fold Cyrillic case (LC_CTYPE C); recreate it with a UTF-8 ctype: createdb -T template0 -E UTF8 --lc-ctype=C.UTF-8 --lc-collate=C.UTF-8 ${name}\n`,
        );
      } finally {
        await target.close();
      }
    } finally {
      await admin.close();
      await plain.drop();
    }
  });
});
