import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isCatalogError, type Reservation, type Shortage } from '../src/index.js';
import { useServedCatalog } from './served.js';

const served = useServedCatalog();

describe('stock reservations through the SDK (contract v1.3)', () => {
  it('reserves, reads, lists, commits and releases, typed; a short reservation is a CONFLICT with its shortages', async () => {
    const { client } = served;
    const product = await client.products.create.mutate({ name: `Резерв ${randomUUID().slice(0, 8)}`, price: 5, quantity: 3 });
    const reference = `order-${randomUUID()}`;
    const held: Reservation = await client.reservations.create.mutate({ items: [{ product_id: product.id, quantity: 2 }], reference }, { context: { idempotencyKey: reference } });
    expect(held).toMatchObject({ status: 'active', reference, version: 1, items: [{ product_id: product.id, quantity: 2 }] });
    expect(await client.reservations.create.mutate({ items: [{ product_id: product.id, quantity: 2 }], reference }, { context: { idempotencyKey: reference } })).toEqual(held);
    expect(await client.products.byId.query({ id: product.id })).toMatchObject({ quantity: 3, reserved: 2, available: 1, in_stock: true });

    let shortages: Shortage[] | undefined;
    try {
      await client.reservations.create.mutate({ items: [{ product_id: product.id, quantity: 2 }] });
    } catch (error) {
      if (!isCatalogError(error, 'CONFLICT')) throw error;
      expect(error.data.httpStatus).toBe(409);
      shortages = error.data.shortages;
    }
    expect(shortages).toEqual([{ product_id: product.id, requested: 2, available: 1 }]);

    expect(await client.reservations.byId.query({ id: held.id })).toEqual(held);
    expect((await client.reservations.list.query({ reference })).items).toEqual([held]);
    const committed = await client.reservations.commit.mutate({ id: held.id, expected_version: 1 });
    expect(committed).toMatchObject({ status: 'committed', version: 2 });
    expect(await client.products.byId.query({ id: product.id })).toMatchObject({ quantity: 1, reserved: 0, available: 1 });

    const second = await client.reservations.create.mutate({ items: [{ product_id: product.id, quantity: 1 }] });
    expect(await client.reservations.release.mutate({ id: second.id })).toMatchObject({ status: 'released', version: 2 });
    try {
      await client.reservations.commit.mutate({ id: second.id });
      expect.unreachable('committing a released reservation must fail');
    } catch (error) {
      expect(isCatalogError(error, 'CONFLICT')).toBe(true);
    }
  });
});
