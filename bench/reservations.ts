/**
 * The contract v1.3 rows of `pnpm bench`: a 3-item reservation reserved and committed over REST (each pair two
 * requests), and BENCH_RESERVATIONS=N active reservations held while the other workloads run, so W1 and W4 can be
 * compared with and without them (reading a product must not get slower because reservations exist).
 */
import type autocannon from 'autocannon';
import type pg from 'pg';

type Row = { workload: string } & Record<'connections' | 'rps' | 'p50' | 'p99' | 'errors' | 'non2xx' | 'requests' | 'ok', number>;
type Cannon = (name: string, url: string, options: Partial<autocannon.Options>, connections?: number) => Promise<Row>;

// Every reservation the bench makes carries it, so a run that stopped midway leaves nothing another run counts.
export const BENCH_REFERENCE = 'bench';

/** Holds one unit of each of `count` random products in stock, an hour long; returns what removes them again. */
export async function holdReservations(admin: pg.Client, count: number): Promise<() => Promise<void>> {
  await admin.query(
    `WITH r AS (
       INSERT INTO reservations (reference, expires_at) SELECT $2, date_trunc('milliseconds', now()) + interval '1 hour' FROM generate_series(1, $1)
       RETURNING id, expires_at),
     numbered AS (SELECT id, expires_at, row_number() OVER () AS n FROM r),
     stock AS (SELECT id, row_number() OVER () AS n FROM (SELECT id FROM products WHERE quantity > 0 ORDER BY random() LIMIT $1) s)
     INSERT INTO reservation_items (reservation_id, product_id, quantity, held_until)
     SELECT numbered.id, stock.id, 1, numbered.expires_at FROM numbered JOIN stock USING (n)`,
    [count, BENCH_REFERENCE],
  );
  await admin.query('ANALYZE reservations, reservation_items');
  return async () => {
    await admin.query('DELETE FROM reservations WHERE reference = $1', [BENCH_REFERENCE]);
  };
}

/** What one connection remembers between its two requests: the reservation to commit (none after a 409). */
interface Checkout {
  id?: string;
}

/** Reserves one unit of each of 3 random products, then commits that reservation: two requests per checkout. */
export function reserveAndCommit(base: string, cannon: Cannon, randomId: () => number): Promise<Row> {
  const name = 'R1 reserve + commit, 3 items (2 requests each)';
  const threeProducts = () => {
    const ids = new Set<number>();
    while (ids.size < 3) ids.add(randomId());
    return [...ids].map((product_id) => ({ product_id, quantity: 1 }));
  };
  return cannon(name, base, {
    requests: [
      {
        method: 'POST',
        path: '/reservations',
        headers: { 'content-type': 'application/json' },
        setupRequest: (request) => ({ ...request, body: JSON.stringify({ items: threeProducts(), reference: BENCH_REFERENCE }) }),
        onResponse: (status, body, context) => {
          (context as Checkout).id = status === 201 ? (JSON.parse(body) as { id: string }).id : undefined;
        },
      },
      {
        method: 'POST',
        setupRequest: (request, context) => ({ ...request, path: `/reservations/${(context as Checkout).id ?? '00000000-0000-4000-8000-000000000000'}/commit` }),
      },
    ],
  });
}
