/**
 * `store/`: the implementation of the API's storage port: `store.ts` (this file) runs each call (deadline, retry,
 * classification), `products.ts`, `categories.ts`, `upsert.ts` hold the queries, `cursor.ts` the keyset cursors,
 * `idempotency.ts` the stored answers of keyed writes. May import `connection/`, `schema/`, `feed/`, `errors`, `rows`;
 * nothing of `ops/`.
 *
 * The catalog's storage, as the API's port (`CatalogStore` in @tradeos/api) describes it: the queries of this
 * package, their rows mapped to the contract's resources in one place, and every failure classified.
 */
import type { Product, ProductBulkItem, ProductCreate } from '@tradeos/contract';
import type { Transaction } from 'sequelize';
import type { Database } from '../connection/database.js';
import { classify, DataError, isRetryable } from '../errors.js';
import { createChangeFeed, type ChangeFeed, type FeedQuery } from '../feed/feed.js';
import { hasPendingMigrations } from '../schema/migrator.js';
import * as categories from './categories.js';
import { once, purgeIdempotencyKeys, type IdempotencyRequest, type Once, type StoredResponse } from './idempotency.js';
import * as products from './products.js';
import { upsertProducts } from './upsert.js';
import type { CategoryPatch } from './categories.js';
import type { PageOptions, ProductFilters, ProductPage, ProductPatch, ProductRow, QuantityChange } from './products.js';
import { toCategory, toProduct, withDates, type Json } from '../rows.js';
import { keyedReservationWrites, reservationStore } from '../reservations/store.js';

const toPage = ({ rows, total, estimated, nextCursor }: ProductPage) => ({ items: rows.map(toProduct), total, nextCursor, ...(estimated ? { estimated } : {}) });
const orNull = <R, T>(row: R | null, map: (row: R) => T): T | null => (row ? map(row) : null);

/** Rejects with a `timeout` DataError as soon as `signal` aborts (the request's deadline passed, or its client left). */
function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  let onAbort: () => void = () => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new DataError('timeout', 'The database took too long to answer', undefined, { cause: signal.reason }));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([work, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

/** A follow whose failures are classified as every other store call's are (a pruned cursor is `gone`). */
async function* followClassified<T>(events: AsyncGenerator<T>, db: Database): AsyncGenerator<T> {
  try {
    yield* events;
  } catch (error) {
    db.report(error);
    throw classify(error);
  }
}

// A write that collided (a deadlock's victim) is run again this many times, after a short random pause, before it is
// answered as busy; each failed attempt was rolled back whole.
const RETRIES = 3;

/** `work`, run again while it fails only for having collided with other writers, at most RETRIES more times. */
async function retried<T>(work: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= RETRIES || !isRetryable(error) || signal?.aborted) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20 * 2 ** attempt));
    }
  }
}

interface RunnerOptions {
  /** Called as each call starts. */
  started?: () => void;
  /** Called once the work itself settles, also when `signal` gave up on it first. */
  settled?: () => void;
  /** Run a call again when it only collided with other writers (never inside a transaction that goes on). */
  retry?: boolean;
  /** A write: once it succeeded, the primary's position (at or past its commit) is the request's (contract v1.3). */
  commits?: boolean;
}

/** Runs one store call: bounded by `signal`, its outcome reported to the database's availability, failures classified. */
function runner(db: Database, { started, settled, retry = false, commits = false }: RunnerOptions = {}) {
  return async <T>(signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> => {
    started?.();
    const attempts = retry ? retried(work, signal) : work();
    const running = settled ? attempts.finally(settled) : attempts;
    try {
      const result = await (signal ? abortable(running, signal) : running);
      db.report(undefined);
      if (commits) await db.committed();
      return result;
    } catch (error) {
      db.report(error);
      throw classify(error);
    }
  };
}

/** The writes an idempotency key can guard, inside the key's transaction when given one. */
function keyedWrites(db: Database, transaction?: Transaction, run = runner(db)) {
  return {
    products: {
      /** Contract v1.2: every item created or updated by sku, in one statement; outcomes in input order. */
      upsertMany: (items: ProductBulkItem[], signal?: AbortSignal) => run(signal, () => upsertProducts(db, items, transaction)),
    },
    categories: {
      create: (fields: Parameters<typeof categories.createCategory>[1], signal?: AbortSignal) =>
        run(signal, async () => toCategory(await categories.createCategory(db, fields, transaction))),
    },
    reservations: keyedReservationWrites(db, run, transaction),
  };
}

export type KeyedWrites = ReturnType<typeof keyedWrites>;

/** The store over `db`; its writes wake the change feed's readers (`feed`, which the caller starts and closes). */
export function createCatalogStore(db: Database, feed: ChangeFeed = createChangeFeed(db)) {
  // Every call first takes the change feed's news that the event loop has not delivered yet, and a read again once
  // it settled: under load, the streams get each advance within one call's work instead of one loop turn's.
  const run = runner(db, { started: feed.heed, settled: feed.heed });
  // A write: once it settled, the change feed learns of it at once (here, and through NOTIFY elsewhere). Also when
  // its caller gave up first (a client that left, a deadline): the statement may still have committed.
  const write = runner(db, { started: feed.heed, settled: feed.written, retry: true, commits: true });
  const keyed = keyedWrites(db, undefined, write);
  // Contract v1.3: the reads go through `reader` (replicas when configured, by the request's minimum position);
  // writes, the feed, idempotency and reservations stay on `db`, the primary.
  const reader = db.reader;

  return {
    products: {
      create: (fields: ProductCreate, signal?: AbortSignal) => write(signal, async () => toProduct(await products.createProduct(db, fields))),
      upsertMany: keyed.products.upsertMany,
      /** Contract v1.2: a create under an idempotency key, in one statement with the key; a replay's body is the stored row. */
      createOnce: (request: IdempotencyRequest, fields: ProductCreate, response: products.CreatedResponse, signal?: AbortSignal) =>
        write(signal, async (): Promise<Once<Product>> => {
          const outcome = await products.createProductOnce(db, request, fields, response);
          if (!outcome.replayed) return { replayed: false, value: toProduct(outcome.value) };
          // A key stored by a transaction's create (before this path) holds the response itself, not the row.
          const stored = outcome.response.body as Json<ProductRow> | Product;
          return { replayed: true, response: { ...outcome.response, body: 'category_name' in stored ? toProduct(withDates(stored)) : stored } };
        }),
      list: (filters: ProductFilters, page: PageOptions, signal?: AbortSignal) =>
        run(signal, async () => toPage(await products.getProductsWithFilters(reader, filters, page, signal))),
      search: (q: string, filters: ProductFilters, page: PageOptions, signal?: AbortSignal) =>
        run(signal, async () => toPage(await products.searchProducts(reader, q, filters, page, signal))),
      byCategory: (category: string, filters: ProductFilters, page: PageOptions, signal?: AbortSignal) =>
        run(signal, async () => orNull(await products.getProductsByCategory(reader, category, filters, page, signal), toPage)),
      byId: (id: number, signal?: AbortSignal) => run(signal, async () => orNull(await products.getProductById(reader, id, signal), toProduct)),
      update: (id: number, patch: ProductPatch, signal?: AbortSignal, expectedVersion?: number) =>
        write(signal, async () => orNull(await products.updateProduct(db, id, patch, expectedVersion), toProduct)),
      changeQuantity: (id: number, change: QuantityChange, signal?: AbortSignal, expectedVersion?: number) =>
        write(signal, async () => {
          const result = await products.updateProductQuantity(db, id, change, expectedVersion);
          return result.status === 'ok' ? { status: result.status, product: toProduct(result.row) } : result;
        }),
      delete: (id: number, signal?: AbortSignal, expectedVersion?: number) => write(signal, () => products.deleteProduct(db, id, expectedVersion)),
    },
    categories: {
      create: keyed.categories.create,
      list: (signal?: AbortSignal) => run(signal, async () => (await categories.listCategories(reader, signal)).map(toCategory)),
      byId: (id: number, signal?: AbortSignal) => run(signal, async () => orNull(await categories.getCategoryById(reader, id, signal), toCategory)),
      update: (id: number, patch: CategoryPatch, signal?: AbortSignal, expectedVersion?: number) =>
        write(signal, async () => orNull(await categories.updateCategory(db, id, patch, expectedVersion), toCategory)),
      delete: (id: number, signal?: AbortSignal, expectedVersion?: number) => write(signal, () => categories.deleteCategory(db, id, expectedVersion)),
    },
    reservations: reservationStore(db, run, write),
    events: {
      page: (query: FeedQuery & { limit: number }, signal?: AbortSignal) => run(signal, () => feed.page(query, signal)),
      wait: (since: string, query: FeedQuery, timeoutMs: number, signal?: AbortSignal) => feed.wait(since, query, timeoutMs, signal),
      follow: (query: FeedQuery, signal: AbortSignal) => followClassified(feed.follow(query, signal), db),
    },
    /**
     * Contract v1.2: runs `work` once per idempotency key, in one transaction with the key; a repeat replays the
     * stored response. `respond` gives the status and Location stored beside the result.
     */
    once: <T>(request: IdempotencyRequest, respond: (value: T) => Omit<StoredResponse, 'body'>, work: (writes: KeyedWrites) => Promise<T>, signal?: AbortSignal) =>
      write(signal, () => once(db, request, respond, (transaction) => work(keyedWrites(db, transaction)))),
    /** Deletes idempotency keys past their 24 hours, in small batches; returns how many. */
    purgeIdempotencyKeys: () => run(undefined, () => purgeIdempotencyKeys(db)),
    ping: (timeoutMs: number) => db.ping(timeoutMs),
    replicas: () => db.replicas(),
    migrationsPending: (timeoutMs: number) => hasPendingMigrations(db, timeoutMs),
  };
}

export type CatalogStore = ReturnType<typeof createCatalogStore>;
