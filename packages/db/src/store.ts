/**
 * The catalog's storage, as the API's port (`CatalogStore` in @tradeos/api) describes it: the queries of this
 * package, their rows mapped to the contract's resources in one place, and every failure classified.
 */
import type { Database } from './connection.js';
import { classify, DataError } from './errors.js';
import { createChangeFeed, type ChangeFeed, type FeedQuery } from './feed.js';
import { hasPendingMigrations } from './migrator.js';
import * as categories from './queries/categories.js';
import * as products from './queries/products.js';
import { toCategory, toProduct } from './rows.js';
import type { CategoryPatch } from './queries/categories.js';
import type { PageOptions, ProductFilters, ProductPage, ProductPatch, QuantityChange } from './queries/products.js';

const toPage = ({ rows, total }: ProductPage) => ({ items: rows.map(toProduct), total });
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

/** The store over `db`; its writes wake the change feed's readers (`feed`, which the caller starts and closes). */
/** A follow whose failures are classified as every other store call's are (a pruned cursor is `gone`). */
async function* followClassified<T>(events: AsyncGenerator<T>, db: Database): AsyncGenerator<T> {
  try {
    yield* events;
  } catch (error) {
    db.report(error);
    throw classify(error);
  }
}

export function createCatalogStore(db: Database, feed: ChangeFeed = createChangeFeed(db)) {
  /** Runs one store call: bounded by `signal`, its outcome reported to the database's availability, failures classified. */
  const run = async <T>(signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> => {
    try {
      const result = await (signal ? abortable(work(), signal) : work());
      db.report(undefined);
      return result;
    } catch (error) {
      db.report(error);
      throw classify(error);
    }
  };

  /** A write: once it committed, the change feed learns of it at once (here, and through NOTIFY elsewhere). */
  const write = async <T>(signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> => {
    const result = await run(signal, work);
    feed.written();
    return result;
  };

  return {
    products: {
      list: (filters: ProductFilters, page: PageOptions, signal?: AbortSignal) =>
        run(signal, async () => toPage(await products.getProductsWithFilters(db, filters, page, signal))),
      search: (q: string, filters: ProductFilters, page: PageOptions, signal?: AbortSignal) =>
        run(signal, async () => toPage(await products.searchProducts(db, q, filters, page, signal))),
      byCategory: (category: string, filters: ProductFilters, page: PageOptions, signal?: AbortSignal) =>
        run(signal, async () => orNull(await products.getProductsByCategory(db, category, filters, page, signal), toPage)),
      byId: (id: number, signal?: AbortSignal) => run(signal, async () => orNull(await products.getProductById(db, id, signal), toProduct)),
      create: (fields: Parameters<typeof products.createProduct>[1], signal?: AbortSignal) => write(signal, async () => toProduct(await products.createProduct(db, fields))),
      update: (id: number, patch: ProductPatch, signal?: AbortSignal) => write(signal, async () => orNull(await products.updateProduct(db, id, patch), toProduct)),
      changeQuantity: (id: number, change: QuantityChange, signal?: AbortSignal) =>
        write(signal, async () => {
          const result = await products.updateProductQuantity(db, id, change);
          return result.status === 'ok' ? { status: result.status, product: toProduct(result.row) } : result;
        }),
      delete: (id: number, signal?: AbortSignal) => write(signal, () => products.deleteProduct(db, id)),
    },
    categories: {
      list: (signal?: AbortSignal) => run(signal, async () => (await categories.listCategories(db)).map(toCategory)),
      byId: (id: number, signal?: AbortSignal) => run(signal, async () => orNull(await categories.getCategoryById(db, id), toCategory)),
      create: (fields: Parameters<typeof categories.createCategory>[1], signal?: AbortSignal) => write(signal, async () => toCategory(await categories.createCategory(db, fields))),
      update: (id: number, patch: CategoryPatch, signal?: AbortSignal) => write(signal, async () => orNull(await categories.updateCategory(db, id, patch), toCategory)),
      delete: (id: number, signal?: AbortSignal) => write(signal, () => categories.deleteCategory(db, id)),
    },
    events: {
      page: (query: FeedQuery & { limit: number }, signal?: AbortSignal) => run(signal, () => feed.page(query, signal)),
      wait: (since: string, query: FeedQuery, timeoutMs: number, signal?: AbortSignal) => feed.wait(since, query, timeoutMs, signal),
      follow: (query: FeedQuery, signal: AbortSignal) => followClassified(feed.follow(query, signal), db),
    },
    ping: (timeoutMs: number) => db.ping(timeoutMs),
    migrationsPending: (timeoutMs: number) => hasPendingMigrations(db, timeoutMs),
  };
}

export type CatalogStore = ReturnType<typeof createCatalogStore>;
