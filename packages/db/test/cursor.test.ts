import type { ProductSortKey } from '@tradeos/contract';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeCursor } from '../src/store/cursor.js';
import { createProduct, getProductsWithFilters, searchProducts, type PageOptions } from '../src/store/products.js';
import { useMigratedDatabase } from '../src/fixture.js';

const db = useMigratedDatabase();
beforeAll(async () => {
  for (const name of ['Курсор ручной 1', 'Курсор ручной 2', 'Курсор ручной 3']) await createProduct(db, { name, price: 1 });
});

/** The fingerprint a real cursor of this page carries: a hand-made cursor for the same query reuses it. */
function printOf(cursor: string | null): string {
  const [payload] = JSON.parse(Buffer.from(cursor!, 'base64url').toString('utf8')) as [string];
  return (JSON.parse(payload) as [string])[0];
}

const options = (sortBy: ProductSortKey | undefined, cursor?: string): PageOptions => ({ skip: 0, limit: 1, order: 'asc', sortBy, cursor });
const list = (sortBy: ProductSortKey, cursor?: string) => getProductsWithFilters(db, {}, options(sortBy, cursor));
const search = (cursor?: string) => searchProducts(db, 'курсор', {}, options(undefined, cursor));

describe('hand-made cursors', () => {
  // A cursor is checked, not secret: anyone can build one in its format, so each value must be one the column takes.
  it('are refused as invalid at `cursor` when PostgreSQL could not take a value, and served when it could', async () => {
    const cases: [read: (cursor?: string) => ReturnType<typeof list>, values: (string | number)[]][] = [
      [(cursor) => list('created_at', cursor), ['0000-01-01T00:00:00.000Z', 1]],
      [(cursor) => list('created_at', cursor), ['2026-02-30T00:00:00.000Z', 1]],
      [(cursor) => list('updated_at', cursor), ['2026-13-45T99:99:99.999Z', 1]],
      [(cursor) => list('id', cursor), [2_147_483_648, 1]],
      [(cursor) => list('quantity', cursor), [0, -2_147_483_649]],
      [(cursor) => list('name', cursor), ['Курсор\u0000', 1]],
      [search, ['Курсор\u0000', 1]],
      [search, ['Курсор', 2_147_483_648]],
    ];
    for (const [read, values] of cases) {
      const forged = encodeCursor(printOf((await read()).nextCursor), values);
      await expect(read(forged), JSON.stringify(values)).rejects.toMatchObject({ name: 'DataError', kind: 'invalid', field: 'cursor' });
    }
    const fine = encodeCursor(printOf((await list('created_at')).nextCursor), ['2026-02-28T23:59:59.999Z', 2_147_483_647]);
    expect((await list('created_at', fine)).rows.length).toBe(1);
    const named = encodeCursor(printOf((await search()).nextCursor), ['Курсор ручной 1', 1]);
    expect((await search(named)).rows.map((row) => row.name)).toEqual(['Курсор ручной 2']);
  });
});
