import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { isAlive, startEmbeddedPostgres } from '../src/ops/embedded.js';

const dataDir = join(tmpdir(), `tradeos-embedded-test-${process.pid}`);
afterAll(() => rm(dataDir, { recursive: true, force: true }));

async function query<T>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('embedded PostgreSQL', () => {
  it('starts from nothing, folds Cyrillic, keeps its data across a restart and a crash', async () => {
    const first = await startEmbeddedPostgres({ dataDir, port: 0, database: 'catalog' });
    expect(first.owned).toBe(true);
    await query(first.url, `CREATE TABLE kept (name text); INSERT INTO kept VALUES ('Ноутбук')`);
    expect(await query(first.url, `SELECT 'НОУТБУК' ILIKE '%ноутбук%' AS folds, current_setting('server_encoding') AS encoding`)).toEqual([
      { folds: true, encoding: 'UTF8' },
    ]);
    await query(first.url, 'CREATE EXTENSION pg_trgm');
    expect(await query(first.url, `SELECT cardinality(show_trgm('Ноутбук')) > 0 AS indexed`)).toEqual([{ indexed: true }]);
    await first.stop();

    const second = await startEmbeddedPostgres({ dataDir, port: 0, database: 'catalog' });
    expect(await query(second.url, 'SELECT name FROM kept')).toEqual([{ name: 'Ноутбук' }]);

    // A second start while it runs joins the running server instead of fighting over the data directory.
    const joined = await startEmbeddedPostgres({ dataDir, port: 0, database: 'catalog' });
    expect(joined.owned).toBe(false);
    expect(await query(joined.url, 'SELECT name FROM kept')).toEqual([{ name: 'Ноутбук' }]);

    // Crash: kill the postmaster outright, leaving postmaster.pid behind, then start again.
    const pid = Number((await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
    process.kill(pid, 'SIGKILL');
    await waitFor(() => !isAlive(pid));
    const third = await startEmbeddedPostgres({ dataDir, port: 0, database: 'catalog' });
    expect(third.owned).toBe(true);
    expect(await query(third.url, 'SELECT name FROM kept')).toEqual([{ name: 'Ноутбук' }]);
    await third.stop();
    await second.stop();
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !condition(); i += 1) await new Promise((resolve) => setTimeout(resolve, 50));
}
