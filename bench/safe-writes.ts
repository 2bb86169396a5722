/**
 * The contract v1.2 rows of `pnpm bench`: an idempotent POST against a plain one (target: within 15 %), a page by
 * cursor 10 000 pages deep against page 1 (target: within 2×), and 100 000 products through POST /products/bulk,
 * 1 000 per request (target: under 10 s). Leaves the catalog as it found it.
 */
import type autocannon from 'autocannon';
import type pg from 'pg';

/** The columns of run.ts's rows that these rows print. */
export type SafeWritesRow = { workload: string } & Record<'connections' | 'rps' | 'p50' | 'p99' | 'errors' | 'non2xx', number>;

export interface SafeWritesResult {
  rows: SafeWritesRow[];
  /** Idempotent POST req/s as a share of plain POST req/s. */
  idempotentVsPlain: number;
  /**
   * The deep cursor page's time per request over page 1's, one connection (so page 1's req/s over the deep page's):
   * both p50s are under a millisecond on a quiet machine, below autocannon's whole-millisecond resolution.
   */
  deepVsFirstPage: number;
  bulk: { products: number; seconds: number; requests: number; failed: number };
}

type Cannon = (name: string, url: string, options: Partial<autocannon.Options>, connections?: number) => Promise<SafeWritesRow>;

const json = { 'content-type': 'application/json' };
const BULK_TOTAL = 100_000;
const BULK_SIZE = 1_000;
// Two requests in flight: one is parsed and validated while the database writes the other.
const BULK_STREAMS = 2;

/** The cursor of the page that starts `rows` rows deep into `/products?limit=10` (walked 100 rows at a time). */
async function deepCursor(base: string, rows: number): Promise<string> {
  let cursor: string | undefined;
  for (let walked = 0; walked < rows; walked += 100) {
    // The last step takes only the rows still to walk: a catalog of exactly 100 000 has no page after its last row.
    const response = await fetch(`${base}/products?limit=${Math.min(100, rows - walked)}${cursor ? `&cursor=${cursor}` : ''}`);
    const page = (await response.json()) as { next_cursor: string | null };
    if (!page.next_cursor) throw new Error(`the catalog holds fewer than ${rows} products`);
    cursor = page.next_cursor;
  }
  return cursor!;
}

async function bulkImport(base: string): Promise<SafeWritesResult['bulk']> {
  let next = 0;
  let failed = 0;
  const started = Date.now();
  const stream = async () => {
    for (let batch = next++; batch * BULK_SIZE < BULK_TOTAL; batch = next++) {
      const items = Array.from({ length: BULK_SIZE }, (_, index) => {
        const n = batch * BULK_SIZE + index;
        return { sku: `BENCH-BULK-${n}`, name: `Оптовый товар ${n}`, price: (n % 10_000) + 0.99, quantity: n % 50, category: 'Электроника' };
      });
      const response = await fetch(`${base}/products/bulk`, { method: 'POST', headers: json, body: JSON.stringify({ items }) });
      if (response.status !== 200) failed += 1;
      await response.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: BULK_STREAMS }, stream));
  return { products: BULK_TOTAL, seconds: (Date.now() - started) / 1000, requests: BULK_TOTAL / BULK_SIZE, failed };
}

/**
 * S1: plain and keyed POSTs in four half-length rounds, plain-keyed-keyed-plain, each row the mean of its two rounds,
 * after two unmeasured seconds of each.
 * Back to back (plain, then keyed) the keyed run always came second, onto a table the plain run had grown and while
 * autovacuum took up that run's inserts.
 */
async function keyedAgainstPlain(base: string, cannon: Cannon, duration: number): Promise<[plain: SafeWritesRow, keyed: SafeWritesRow]> {
  const body = JSON.stringify({ name: 'Бенчмарк идемпотентный', price: 99.99, quantity: 1 });
  // Both build each request anew with a unique header of the same length, so the load generator (which shares the
  // two cores) does the same work for either: a plain POST carries a header the server ignores.
  let n = 0;
  const unique = (header: string) => ({ setupRequest: (request: autocannon.Request) => ({ ...request, headers: { ...json, [header]: `bench-${Date.now()}-${(n += 1)}` } }) });
  const variants = {
    plain: { workload: 'S1 POST /products (plain)', options: { requests: [{ method: 'POST' as const, path: '/products', body, ...unique('x-bench-sequence') }] } },
    keyed: { workload: 'S1 POST /products + Idempotency-Key', options: { requests: [{ method: 'POST' as const, path: '/products', body, ...unique('idempotency-key') }] } },
  };
  // Unmeasured first: a server fresh from its start (BENCH_ONLY=…) runs its first seconds of any path slower.
  for (const { workload, options } of Object.values(variants)) await cannon(workload, base, { ...options, duration: 2 });
  const rounds: Record<keyof typeof variants, SafeWritesRow[]> = { plain: [], keyed: [] };
  for (const variant of ['plain', 'keyed', 'keyed', 'plain'] as const) {
    const { workload, options } = variants[variant];
    rounds[variant].push(await cannon(workload, base, { ...options, duration: duration / 2 }));
  }
  const mean = (rows: SafeWritesRow[], column: 'rps' | 'p50' | 'p99') => Math.round(rows.reduce((sum, row) => sum + row[column], 0) / rows.length);
  const sum = (rows: SafeWritesRow[], column: 'errors' | 'non2xx') => rows.reduce((total, row) => total + row[column], 0);
  const merged = (variant: keyof typeof variants): SafeWritesRow => {
    const rows = rounds[variant];
    return { workload: variants[variant].workload, connections: rows[0]!.connections, rps: mean(rows, 'rps'), p50: mean(rows, 'p50'), p99: mean(rows, 'p99'), errors: sum(rows, 'errors'), non2xx: sum(rows, 'non2xx') };
  };
  return [merged('plain'), merged('keyed')];
}

export async function safeWrites(base: string, cannon: Cannon, admin: pg.Client, duration: number): Promise<SafeWritesResult> {
  const rows: SafeWritesRow[] = [...(await keyedAgainstPlain(base, cannon, duration))];
  await admin.query(`DELETE FROM products WHERE name = 'Бенчмарк идемпотентный'`);
  await admin.query('DELETE FROM idempotency_keys');

  const cursor = await deepCursor(base, 99_990);
  rows.push(await cannon('S2 page 1 (limit 10)', `${base}/products?limit=10`, {}, 1));
  rows.push(await cannon('S2 page 10 000 by cursor (limit 10)', `${base}/products?limit=10&cursor=${cursor}`, {}, 1));

  const bulk = await bulkImport(base);
  await admin.query(`DELETE FROM products WHERE sku LIKE 'BENCH-BULK-%'`);
  await admin.query('VACUUM ANALYZE products');
  return {
    rows,
    idempotentVsPlain: rows[1]!.rps / rows[0]!.rps,
    deepVsFirstPage: rows[2]!.rps / rows[3]!.rps,
    bulk,
  };
}
