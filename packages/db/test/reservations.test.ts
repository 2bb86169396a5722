/**
 * Stock reservations at the queries, without the store's retries: lock order (no deadlock at all, not one retried
 * away), the stock guard under concurrent stock changes, and the schema's own constraints.
 */
import { describe, expect, it } from 'vitest';
import { useMigratedDatabase } from '../src/fixture.js';
import { commitReservation, createReservation, releaseReservation, sweepExpired } from '../src/reservations/writes.js';
import { getProductById, updateProductQuantity, upsertProducts } from '../src/index.js';

const db = useMigratedDatabase({ pool: { max: 24, acquireTimeoutMs: 60_000 } });

let made = 0;
async function product(quantity: number): Promise<number> {
  made += 1;
  const [row] = await db.query<{ id: number }>('INSERT INTO products (name, price, quantity, sku) VALUES ($1, 1, $2, $3) RETURNING id', [`Товар ${made}`, quantity, `RES-${made}`]);
  return row!.id;
}

const held = async (id: number) => (await getProductById(db, id))!.reserved;
const kindOf = (error: unknown) => {
  const { kind, code, parent } = error as { kind?: string; code?: string; parent?: { code?: string } };
  return kind ?? code ?? parent?.code;
};

describe('reservations at the queries', () => {
  it('lock in product-id order: 200 multi-item reservations in opposite orders never deadlock, none retried', async () => {
    const ids = [await product(10_000), await product(10_000), await product(10_000), await product(10_000)];
    const outcomes = await Promise.allSettled(
      Array.from({ length: 200 }, (_, i) => {
        const order = i % 2 ? [...ids].reverse() : [ids[1]!, ids[3]!, ids[0]!, ids[2]!];
        return createReservation(db, { items: order.map((id) => ({ product_id: id, quantity: 1 })), ttl_seconds: 60 });
      }),
    );
    const failures = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [kindOf(outcome.reason)] : []));
    expect(failures).toEqual([]);
    for (const id of ids) expect(await held(id)).toBe(200);
  });

  it('never let a stock change go below the units held, however decrements and reservations interleave', async () => {
    const id = await product(100);
    const work = Array.from({ length: 200 }, (_, i) =>
      i % 2
        ? createReservation(db, { items: [{ product_id: id, quantity: 1 }], ttl_seconds: 60 }).then(() => 'held' as const)
        : updateProductQuantity(db, id, { delta: -1 }).then((result) => result.status),
    );
    const outcomes = await Promise.allSettled(work);
    const ok = outcomes.filter((outcome) => outcome.status === 'fulfilled' && (outcome.value === 'held' || outcome.value === 'ok'));
    const refused = outcomes.filter((outcome) => outcome.status === 'rejected' || outcome.value === 'insufficient');
    for (const outcome of outcomes) if (outcome.status === 'rejected') expect(['insufficient', 'TR409']).toContain(kindOf(outcome.reason));
    expect(ok.length + refused.length).toBe(200);
    const after = (await getProductById(db, id))!;
    // Every unit is either still in stock and held, or taken out by a decrement: exactly 100 successes in all.
    expect(ok).toHaveLength(100);
    expect(after.quantity).toBeGreaterThanOrEqual(after.reserved!);
    expect(after.reserved).toBe(after.quantity);
  });

  it('fail a whole bulk upsert when one item would go below its units held', async () => {
    const id = await product(4);
    await createReservation(db, { items: [{ product_id: id, quantity: 3 }], ttl_seconds: 60 });
    const sku = `RES-${made}`;
    await expect(upsertProducts(db, [{ sku: 'RES-FRESH', name: 'Новый', price: 1 }, { sku, name: 'Товар', price: 1, quantity: 2 }])).rejects.toMatchObject({
      parent: { code: 'TR409' },
    });
    expect((await db.query('SELECT 1 FROM products WHERE sku = $1', ['RES-FRESH'])).length).toBe(0);
    expect((await getProductById(db, id))!.quantity).toBe(4);
  });

  it('keep commit and release at most once each, and give an expired hold back without a sweeper', async () => {
    const id = await product(5);
    const a = await createReservation(db, { items: [{ product_id: id, quantity: 2 }], ttl_seconds: 60 });
    const outcomes = await Promise.allSettled([...Array.from({ length: 8 }, () => commitReservation(db, a.id)), ...Array.from({ length: 8 }, () => releaseReservation(db, a.id))]);
    const states = new Set(outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' && outcome.value.status === 'ok' ? [outcome.value.row.state] : [])));
    expect(states.size).toBe(1);
    const [state] = [...states];
    expect((await getProductById(db, id))!.quantity).toBe(state === 'committed' ? 3 : 5);

    const b = await createReservation(db, { items: [{ product_id: id, quantity: 1 }], ttl_seconds: 1 });
    for (;;) {
      const [row] = await db.query<{ past: boolean }>('SELECT clock_timestamp() > $1::timestamptz AS past', [b.expires_at]);
      if (row!.past) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await held(id)).toBe(0);
    await expect(commitReservation(db, b.id)).rejects.toMatchObject({ kind: 'in_use' });
    expect(await sweepExpired(db)).toBe(1);
    const [stored] = await db.query<{ state: string; held_until: Date | null }>('SELECT r.state, i.held_until FROM reservations r JOIN reservation_items i ON i.reservation_id = r.id WHERE r.id = $1', [b.id]);
    expect(stored).toEqual({ state: 'expired', held_until: null });
  });

  it('refuse in the database what the API refuses: a zero quantity, a product twice, an unknown state, a ttl past a day', async () => {
    const id = await product(1);
    const [r] = await db.query<{ id: string }>(`INSERT INTO reservations (expires_at) VALUES (date_trunc('milliseconds', now()) + interval '1 minute') RETURNING id`);
    await expect(db.query('INSERT INTO reservation_items (reservation_id, product_id, quantity) VALUES ($1, $2, 0)', [r!.id, id])).rejects.toMatchObject({ code: '23514' });
    await db.query('INSERT INTO reservation_items (reservation_id, product_id, quantity) VALUES ($1, $2, 1)', [r!.id, id]);
    await expect(db.query('INSERT INTO reservation_items (reservation_id, product_id, quantity) VALUES ($1, $2, 1)', [r!.id, id])).rejects.toMatchObject({ code: '23505' });
    await expect(db.query(`UPDATE reservations SET state = 'lost' WHERE id = $1`, [r!.id])).rejects.toMatchObject({ code: '23514' });
    await expect(db.query(`INSERT INTO reservations (expires_at) VALUES (date_trunc('milliseconds', now()) + interval '2 days')`)).rejects.toMatchObject({ code: '23514' });
  });
});
