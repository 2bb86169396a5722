import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DataError } from '../src/errors.js';
import { createChangeFeed, type ChangeFeed } from '../src/feed/feed.js';
import { useMigratedDatabase } from '../src/fixture.js';
import { createCatalogStore } from '../src/store/store.js';

const db = useMigratedDatabase();
let feed: ChangeFeed;
let store: ReturnType<typeof createCatalogStore>;

beforeAll(async () => {
  feed = createChangeFeed(db, { pollMs: 20 });
  store = createCatalogStore(db, feed);
  await feed.start();
});
afterAll(() => feed.close());

/** A connection of its own, as another service or an operator's psql session would hold. */
async function session(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  return client;
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const everything = async (after: string) => (await feed.page({ after, limit: 1000 })).items;

/** Follows the feed from `after`, keeping each event's name; `stop` ends the follow and returns the names. */
function follower(after: string) {
  const stop = new AbortController();
  const names: string[] = [];
  const following = (async () => {
    for await (const event of feed.follow({ after }, stop.signal)) names.push((event.data as { name: string }).name);
  })();
  return {
    names,
    stop: async () => {
      stop.abort();
      await following;
      return names;
    },
  };
}

const latestId = async () => (await db.query<{ id: string | null }>('SELECT max(id)::text AS id FROM events'))[0]!.id ?? '0';

describe('the change feed reader', () => {
  it('never hands out an event that an earlier, still uncommitted one precedes, and hands out both once it commits', async () => {
    const start = await latestId();
    await until(() => BigInt(feed.horizon) >= BigInt(start));
    const slow = await session();
    const fast = await session();
    try {
      await slow.query('BEGIN');
      await slow.query(`INSERT INTO categories (name) VALUES ('Медленная')`);
      const [{ id: lower }] = (await slow.query<{ id: string }>(`SELECT max(id)::text AS id FROM events`)).rows as [{ id: string }];
      await fast.query(`INSERT INTO categories (name) VALUES ('Быстрая')`);
      const higher = await latestId();
      expect(BigInt(higher)).toBeGreaterThan(BigInt(lower));

      // A plain reader of committed rows sees the higher id already: moving past it would lose the lower one.
      expect((await db.query<{ id: string }>('SELECT id::text AS id FROM events WHERE id > $1', [start])).map((row) => row.id)).toEqual([higher]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(BigInt(feed.horizon)).toBeLessThan(BigInt(lower));
      expect(await everything(start)).toEqual([]);

      await slow.query('COMMIT');
      await until(() => BigInt(feed.horizon) >= BigInt(higher));
      const events = await everything(start);
      expect(events.map((event) => [event.id, event.type, (event.data as { name: string }).name])).toEqual([
        [lower, 'category.created', 'Медленная'],
        [higher, 'category.created', 'Быстрая'],
      ]);
    } finally {
      await slow.end();
      await fast.end();
    }
  });

  it('skips the ids of a transaction that rolled back, and waits for it before handing out later ones', async () => {
    const start = await latestId();
    const slow = await session();
    try {
      await slow.query('BEGIN');
      await slow.query(`INSERT INTO categories (name) VALUES ('Отменённая')`);
      const committed = await store.categories.create({ name: 'Оставшаяся' });
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await everything(start)).toEqual([]);
      await slow.query('ROLLBACK');
      await until(async () => (await everything(start)).length > 0);
      expect((await everything(start)).map((event) => event.data)).toEqual([committed]);
    } finally {
      await slow.end();
    }
  });

  it('does not wait for a transaction that has written no event yet, even one holding a transaction id', async () => {
    const start = await latestId();
    const open = await session();
    try {
      // Running, with an xid, and a write (to a table without events) that a snapshot would list as in progress.
      await open.query('BEGIN');
      await open.query(`INSERT INTO idempotency_keys (scope, key, request_hash, status, body) VALUES ('feed-test', 'open', 'x', 200, '{}')`);
      const committed = await store.categories.create({ name: 'Без ожидания' });
      await until(async () => (await everything(start)).length > 0, 2_000);
      expect((await everything(start)).map((event) => event.data)).toEqual([committed]);
      // Once it writes an event, it holds back the ones after it until it ends.
      await open.query(`INSERT INTO categories (name) VALUES ('Открытая')`);
      const later = await store.categories.create({ name: 'После открытой' });
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await everything(start)).toHaveLength(1);
      await open.query('COMMIT');
      await until(async () => (await everything(start)).length === 3);
      expect((await everything(start)).map((event) => (event.data as { name: string }).name)).toEqual(['Без ожидания', 'Открытая', later.name]);
    } finally {
      await open.end();
    }
  });

  it('does not wait for a transaction left open in another database of the server', async () => {
    const elsewhere = new pg.Client({ connectionString: inject('adminUrl') });
    await elsewhere.connect();
    try {
      await elsewhere.query('BEGIN');
      await elsewhere.query('SELECT pg_current_xact_id()');
      const start = await latestId();
      const began = Date.now();
      await store.categories.create({ name: 'Не ждёт' });
      await until(async () => (await everything(start)).length === 1);
      expect(Date.now() - began).toBeLessThan(1_000);
    } finally {
      await elsewhere.query('ROLLBACK');
      await elsewhere.end();
    }
  });

  it('records every committed change once, in order, with the resource as it stood after it; refused writes append nothing', async () => {
    const start = await latestId();
    const category = await store.categories.create({ name: 'Лента' });
    const created = await store.products.create({ name: 'Лампа', price: 1990.5, quantity: 2, sku: 'FEED-1', category_id: category.id });
    const updated = await store.products.update(created.id, { price: 1890 });
    const stock = await store.products.changeQuantity(created.id, { delta: -2 });
    // Refused: stock below 0, a duplicate sku, a missing category, a category still in use, a stale version (412).
    expect(await store.products.changeQuantity(created.id, { delta: -1 })).toEqual({ status: 'insufficient', quantity: 0 });
    await expect(store.products.update(created.id, { price: 1 }, undefined, 1)).rejects.toMatchObject({ kind: 'version_mismatch' });
    await expect(store.products.changeQuantity(created.id, { delta: 1 }, undefined, 1)).rejects.toMatchObject({ kind: 'version_mismatch' });
    await expect(store.products.delete(created.id, undefined, 1)).rejects.toMatchObject({ kind: 'version_mismatch' });
    await expect(store.products.create({ name: 'Дубль', price: 1, sku: 'FEED-1' })).rejects.toMatchObject({ kind: 'unique_violation' });
    await expect(store.products.create({ name: 'Сирота', price: 1, category_id: 999_999 })).rejects.toMatchObject({ kind: 'missing_reference' });
    await expect(store.categories.delete(category.id)).rejects.toMatchObject({ kind: 'in_use' });
    await store.products.delete(created.id);
    const renamed = await store.categories.update(category.id, { description: 'пусто' });
    await store.categories.delete(category.id);

    await until(async () => (await everything(start)).length >= 7);
    const events = await everything(start);
    expect(events.map(({ type, entity_id, version, data }) => ({ type, entity_id, version, data }))).toEqual([
      { type: 'category.created', entity_id: category.id, version: 1, data: category },
      { type: 'product.created', entity_id: created.id, version: 1, data: created },
      { type: 'product.updated', entity_id: created.id, version: 2, data: updated },
      { type: 'product.updated', entity_id: created.id, version: 3, data: stock.status === 'ok' ? stock.product : null },
      { type: 'product.deleted', entity_id: created.id, version: 4, data: null },
      { type: 'category.updated', entity_id: category.id, version: 2, data: renamed },
      { type: 'category.deleted', entity_id: category.id, version: 3, data: null },
    ]);
    expect(events.map((event) => BigInt(event.id))).toEqual([...events.map((event) => BigInt(event.id))].sort((a, b) => (a < b ? -1 : 1)));
  });

  it('filters by type and pages by limit, next_after the last id or the after given', async () => {
    const start = await latestId();
    for (const name of ['Ф1', 'Ф2', 'Ф3']) await store.categories.create({ name });
    await until(async () => (await everything(start)).length === 3);
    const first = await feed.page({ after: start, limit: 2 });
    expect(first.items).toHaveLength(2);
    expect(first.nextAfter).toBe(first.items[1]!.id);
    const rest = await feed.page({ after: first.nextAfter, limit: 2 });
    expect(rest.items).toHaveLength(1);
    const none = await feed.page({ after: start, limit: 10, types: ['product.deleted'] });
    expect(none).toMatchObject({ items: [], nextAfter: start });
  });

  it('wakes a waiting reader as soon as a write commits, and follows live', async () => {
    const start = await latestId();
    const { horizon } = await feed.page({ after: start, limit: 1 });
    const followed = follower(start);
    const began = Date.now();
    const woken = feed.wait(horizon, { after: start }, 10_000);
    await store.categories.create({ name: 'Будильник' });
    await woken;
    expect(Date.now() - began).toBeLessThan(1_000);
    await store.categories.create({ name: 'Второй' });
    await until(() => followed.names.length === 2);
    expect(await followed.stop()).toEqual(['Будильник', 'Второй']);
  });

  it('is woken by a write whose caller gave up first: the statement still commits, and its event is not left to the poll', async () => {
    const quiet = createChangeFeed(db, { pollMs: 60_000 });
    const writer = createCatalogStore(db, quiet);
    try {
      await quiet.start();
      const start = await latestId();
      const { horizon } = await quiet.page({ after: start, limit: 1 });
      const began = Date.now();
      const woken = quiet.wait(horizon, { after: start }, 10_000);
      await expect(writer.products.create({ name: 'Брошенный', price: 1, quantity: 1 }, AbortSignal.abort())).rejects.toMatchObject({ kind: 'timeout' });
      await woken;
      expect(Date.now() - began).toBeLessThan(2_000);
      const { items } = await quiet.page({ after: start, limit: 10 });
      expect(items.map((event) => (event.data as { name: string }).name)).toEqual(['Брошенный']);
    } finally {
      await quiet.close();
    }
  });

  it('hands an advance to the next store call while the event loop is still busy, not at its next turn', async () => {
    const start = await latestId();
    const followed = follower(start);
    const writer = await session();
    try {
      const before = feed.horizon;
      // Sent at once, and the event loop does not turn from here to the store call: the write commits and the
      // thread's poll settles it meanwhile, and only a synchronous read of its port (what every store call starts
      // with) can bring the advance in.
      const inserted = writer.query(`INSERT INTO categories (name) VALUES ('Занятой')`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
      const reading = store.categories.list();
      expect(BigInt(feed.horizon)).toBeGreaterThan(BigInt(before));
      await Promise.all([inserted, reading]);
      await until(() => followed.names.length === 1);
      expect(await followed.stop()).toEqual(['Занятой']);
    } finally {
      await writer.end();
    }
  });

  it('prunes old events in batches behind a watermark; a cursor before it is gone, no cursor starts at it', async () => {
    const pruning = createChangeFeed(db, { pruneBatch: 2 });
    await pruning.start();
    try {
      for (const name of ['Старая 1', 'Старая 2', 'Старая 3']) await store.categories.create({ name });
      const last = await latestId();
      await until(() => BigInt(pruning.horizon) >= BigInt(last));
      await db.query(`UPDATE events SET occurred_at = occurred_at - interval '8 days' WHERE id <= $1`, [last]);
      expect(await pruning.prune()).toBeGreaterThan(3);
      await expect(pruning.page({ after: '0', limit: 10 })).rejects.toEqual(expect.any(DataError));
      await expect(pruning.page({ after: '0', limit: 10 })).rejects.toMatchObject({ kind: 'gone' });
      const fresh = await store.categories.create({ name: 'Свежая' });
      await until(async () => (await pruning.page({ limit: 10 })).items.length === 1);
      expect((await pruning.page({ limit: 10 })).items.map((event) => event.data)).toEqual([fresh]);
      expect((await pruning.page({ after: last, limit: 10 })).items).toHaveLength(1);
    } finally {
      await pruning.close();
    }
  });

  it('reads its own writes: a page read as soon as a write was answered holds its event, whoever wrote it', async () => {
    // A poll that never comes first: only the read's own wait for the horizon can bring the events in.
    const slow = createChangeFeed(db, { pollMs: 60_000 });
    const writer = createCatalogStore(db, slow);
    const other = await session();
    try {
      await slow.start();
      for (let i = 0; i < 15; i += 1) {
        const before = await latestId();
        await writer.categories.create({ name: `Своя ${i}` });
        expect((await slow.page({ after: before, limit: 10 })).items.map((event) => (event.data as { name: string }).name)).toEqual([`Своя ${i}`]);
        // A write by another process, which tells this one nothing.
        await other.query('INSERT INTO categories (name) VALUES ($1)', [`Чужая ${i}`]);
        const stream = slow.follow({ after: before }, new AbortController().signal);
        expect(((await stream.next()).value as { data: { name: string } } | undefined)?.data.name).toBe(`Своя ${i}`);
        await stream.return(undefined);
        expect((await slow.page({ after: before, limit: 10 })).items.map((event) => (event.data as { name: string }).name)).toEqual([`Своя ${i}`, `Чужая ${i}`]);
      }
    } finally {
      await other.end();
      await slow.close();
    }
  });

  it('answers waiting readers from the events the horizon carried, without a query each', async () => {
    const start = await latestId();
    await until(() => BigInt(feed.horizon) >= BigInt(start));
    const { horizon } = await feed.page({ after: start, limit: 1 });
    const waiting = Array.from({ length: 500 }, (_, i) => feed.wait(horizon, { after: start, types: i % 2 ? ['category.created'] : undefined }, 10_000));
    const created = await store.categories.create({ name: 'Для всех' });
    const woken = await Promise.all(waiting);
    for (const events of woken) expect(events?.map((event) => event.data)).toEqual([created]);
  });
});
