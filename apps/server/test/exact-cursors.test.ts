/**
 * Contract v1.3 "cursors are exact" (issue 27): a walk over rows sharing one timestamp (a bulk) never repeats or drops
 * a row that stood throughout, when the row a cursor came from is deleted or moves between pages.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startServer, type LiveServer } from './helpers.js';

let server: LiveServer;
const http = (method: string, path: string, body?: unknown) => call(server.base, method, path, body);

beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

interface Item {
  id: number;
  created_at: string;
  updated_at: string;
}
interface Page {
  items: Item[];
  next_cursor: string | null;
}

let batches = 0;
/** 30 products created by one bulk (one created_at, one updated_at), in a category of their own; its id. */
async function bulk(): Promise<number> {
  batches += 1;
  const created = await http('POST', '/categories', { name: `Пакет ${batches}` });
  expect(created.status).toBe(201);
  const items = Array.from({ length: 30 }, (_, index) => ({ sku: `EXACT-${batches}-${index}`, name: `Точный ${index}`, price: 1, category: `Пакет ${batches}` }));
  expect((await http('POST', '/products/bulk', { items })).status).toBe(200);
  return (created.body as { id: number }).id;
}

async function page(path: string): Promise<Page> {
  const response = await http('GET', path);
  expect(response.status, `${path}: ${response.text}`).toBe(200);
  return response.body as Page;
}

/** Every id a walk by `limit` returns, with `between` run on each page's last row before the next page is read. */
async function walk(query: string, between: (last: Item) => Promise<void>): Promise<number[]> {
  const ids: number[] = [];
  let current = await page(`${query}&limit=10`);
  for (;;) {
    ids.push(...current.items.map((item) => item.id));
    if (!current.next_cursor) return ids;
    await between(current.items.at(-1)!);
    current = await page(`${query}&limit=10&cursor=${current.next_cursor}`);
  }
}

/** The whole list in one page, and the one value of `key` its rows share. */
async function everything(query: string, key: 'created_at' | 'updated_at'): Promise<number[]> {
  const { items } = await page(`${query}&limit=100`);
  expect(items).toHaveLength(30);
  expect(new Set(items.map((item) => item[key])).size).toBe(1);
  return items.map((item) => item.id);
}

const deleteRow = async ({ id }: Item) => {
  expect((await http('DELETE', `/products/${id}`)).status).toBe(204);
};

describe.each(['desc', 'asc'])('a cursor walk %s over one bulk', (order) => {
  it('sees every row exactly once, in order, when the cursor\'s row is deleted between pages (sort_by=created_at)', async () => {
    const query = `/products?category_id=${await bulk()}&sort_by=created_at&order=${order}`;
    const all = await everything(query, 'created_at');
    expect(await walk(query, deleteRow)).toEqual(all);
  });

  it('sees every row that kept its updated_at exactly once when the cursor\'s row changes stock between pages', async () => {
    const query = `/products?category_id=${await bulk()}&sort_by=updated_at&order=${order}`;
    const all = await everything(query, 'updated_at');
    const moved = new Set<number>();
    const seen = await walk(query, async ({ id }) => {
      moved.add(id);
      expect((await http('PATCH', `/products/${id}/quantity`, { delta: 1 })).status).toBe(200);
    });
    // A moved row may come again (it moved ahead of the walk) or not: it moved. Every other one comes exactly once.
    expect(seen.filter((id) => !moved.has(id))).toEqual(all.filter((id) => !moved.has(id)));
    for (const id of moved) expect(seen.filter((other) => other === id).length).toBeLessThanOrEqual(2);
  });

  it('sees every row exactly once when a bulk update gave them all one updated_at and the cursor\'s row is deleted', async () => {
    const categoryId = await bulk();
    const items = Array.from({ length: 30 }, (_, index) => ({ sku: `EXACT-${batches}-${index}`, name: `Точный ${index}`, price: 2 }));
    const updated = await http('POST', '/products/bulk', { items });
    expect(updated.body).toMatchObject({ updated: 30 });
    const query = `/products?category_id=${categoryId}&sort_by=updated_at&order=${order}`;
    const all = await everything(query, 'updated_at');
    expect(await walk(query, deleteRow)).toEqual(all);
  });
});
