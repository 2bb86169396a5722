import { createCatalogStore } from '@tradeos/db';
import { useMigratedDatabase } from '@tradeos/db/fixture';
import { TRPCError } from '@trpc/server';
import { beforeAll, describe, expect, it } from 'vitest';
import { createContext } from '../src/context.js';
import { ValidationError } from '../src/errors.js';
import { createCaller } from '../src/root.js';

const db = useMigratedDatabase();
const logged: object[] = [];
let caller: ReturnType<typeof createCaller>;

beforeAll(() => {
  caller = createCaller(createContext({ store: createCatalogStore(db), requestId: 'req-1', log: { error: (details) => logged.push(details) } }));
});

async function failure(promise: Promise<unknown>): Promise<TRPCError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TRPCError);
  return error as TRPCError;
}

describe('the router through createCaller', () => {
  it('maps a row to the contract Product, category included', async () => {
    const category = await caller.categories.create({ name: 'Электроника' });
    const product = await caller.products.create({ name: ' Ноутбук ', price: 74990.5, quantity: 2, category_id: category.id });
    expect(product).toMatchObject({ name: 'Ноутбук', price: 74990.5, in_stock: true, category: { id: category.id, name: 'Электроника' } });
    expect(await caller.categories.byId({ id: category.id })).toMatchObject({ product_count: 1 });
  });

  it('turns zod failures into UNPROCESSABLE_CONTENT with plain field paths', async () => {
    const error = await failure(caller.products.create({ name: 'X', price: 1.234 }));
    expect(error.code).toBe('UNPROCESSABLE_CONTENT');
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues).toEqual([{ path: ['price'], message: 'must have at most 2 fractional digits' }]);
  });

  it('names unknown and read-only keys in the issue path', async () => {
    const error = (await failure(caller.categories.create({ name: 'X', colour: 'red', id: 1 } as never))) as ValidationError;
    expect(error.issues).toEqual([
      { path: ['id'], message: 'read-only field(s): id' },
      { path: ['colour'], message: 'unknown field(s): colour' },
    ]);
  });

  it('maps unique and foreign-key violations to CONFLICT and to a category_id issue', async () => {
    await caller.products.create({ name: 'A', price: 1, sku: 'SKU-A' });
    expect((await failure(caller.products.create({ name: 'B', price: 1, sku: 'SKU-A' }))).code).toBe('CONFLICT');
    const missing = (await failure(caller.products.create({ name: 'C', price: 1, category_id: 999_999 }))) as ValidationError;
    expect(missing.code).toBe('UNPROCESSABLE_CONTENT');
    expect(missing.issues[0]?.path).toEqual(['category_id']);
    expect((await failure(caller.categories.create({ name: 'электроника' }))).code).toBe('CONFLICT');
  });

  it('refuses to delete a category in use with CONFLICT, and reports missing rows as NOT_FOUND', async () => {
    const [category] = await caller.categories.list({});
    expect((await failure(caller.categories.delete({ id: category!.id }))).code).toBe('CONFLICT');
    expect((await failure(caller.products.byId({ id: 2_147_483_647 }))).message).toBe('Product 2147483647 not found');
  });

  it('reports an overflowing stock change as invalid input, not a fault', async () => {
    const product = await caller.products.create({ name: 'Много', price: 1, quantity: 2_147_483_647 });
    const error = await failure(caller.products.adjustQuantity({ id: product.id, delta: 1 }));
    expect(error.code).toBe('UNPROCESSABLE_CONTENT');
    expect(logged).toEqual([]);
  });

  it('logs an unknown fault once, with the request id, and hides it behind INTERNAL_SERVER_ERROR', async () => {
    await db.sequelize.query('ALTER TABLE categories RENAME COLUMN description TO about');
    try {
      const error = await failure(caller.categories.list({}));
      expect(error.code).toBe('INTERNAL_SERVER_ERROR');
      expect(error.message).toBe('Internal server error');
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatchObject({ path: 'categories.list', request_id: 'req-1' });
    } finally {
      await db.sequelize.query('ALTER TABLE categories RENAME COLUMN about TO description');
    }
  });
});
