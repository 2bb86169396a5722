import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createDatabase } from '../src/connection.js';
import { DataError } from '../src/errors.js';
import { useMigratedDatabase } from '../src/fixture.js';
import { createCatalogStore } from '../src/store.js';

const db = useMigratedDatabase();

/** How many statements of this database are still running `pg_sleep`. */
async function sleeping(): Promise<number> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query LIKE 'SELECT pg_sleep%'`,
    );
    return rows[0]!.n;
  } finally {
    await client.end();
  }
}

describe('the hot-read pool', () => {
  it('caps every statement on the server (statement timeout)', async () => {
    const capped = createDatabase({ url: db.url, statementTimeoutMs: 200 });
    try {
      const started = Date.now();
      const error: unknown = await capped.query('SELECT pg_sleep(5)').catch((e: unknown) => e);
      expect((error as { code?: string }).code).toBe('57014');
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      await capped.close();
    }
  });

  it('gives up on the client side when the server does not answer in time, and cancels the statement', async () => {
    const impatient = createDatabase({ url: db.url, statementTimeoutMs: 60_000, queryTimeoutMs: 300 });
    try {
      const started = Date.now();
      const error: unknown = await impatient.query('SELECT pg_sleep(30)').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DataError);
      expect((error as DataError).kind).toBe('timeout');
      expect(Date.now() - started).toBeLessThan(1_000);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await sleeping()).toBe(0);
    } finally {
      await impatient.close();
    }
  });

  it('ends a statement when its signal aborts, and cancels it on the server', async () => {
    const controller = new AbortController();
    const pending = db.query('SELECT pg_sleep(30)', [], controller.signal).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await sleeping()).toBe(1);
    controller.abort();
    expect(await pending).toMatchObject({ kind: 'timeout' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await sleeping()).toBe(0);
    expect(await db.query<{ ok: number }>('SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
  });
});

describe('availability', () => {
  it('does not change when a call only waited too long for a busy pool', async () => {
    const busy = createDatabase({ url: db.url, pool: { max: 1, acquireTimeoutMs: 200 } });
    const store = createCatalogStore(busy);
    const seen: unknown[] = [];
    busy.watch((availability) => seen.push(availability));
    try {
      expect(await busy.ping(1_000)).toBe(true);
      const sleeper = busy.query('SELECT pg_sleep(1)');
      const waited: unknown = await store.products.byId(1).catch((e: unknown) => e);
      expect(waited).toMatchObject({ kind: 'busy' });
      await sleeper;
      expect(seen).toEqual([{ available: true }]);
    } finally {
      await busy.close();
    }
  });

  it('is reported to watchers once per change, with the cause and without the password', async () => {
    const url = new URL(db.url);
    url.password = 'hidden-password-123';
    url.pathname = '/no_such_database_here';
    const broken = createDatabase({ url: url.toString() });
    const seen: unknown[] = [];
    broken.watch((availability) => seen.push(availability));
    try {
      expect(await broken.ping(1_000)).toBe(false);
      expect(await broken.ping(1_000)).toBe(false);
      expect(seen).toEqual([{ available: false, cause: expect.stringContaining('does not exist') as string }]);
      expect(JSON.stringify(seen)).not.toContain('hidden-password-123');
    } finally {
      await broken.close();
    }
  });
});
