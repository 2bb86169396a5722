/**
 * The port the router reads and writes through: what the catalog needs from storage, in the contract's own
 * types. The db package implements it; tests may hand in any other implementation. Failures a store reports
 * are `StoreError`s, classified by kind, so the router maps them to the contract without knowing the driver.
 */
import type {
  BulkStatus,
  Category,
  Event,
  EventType,
  CategoryCreate,
  IdempotencyRequest,
  PageOptions,
  Product,
  ProductBulkItem,
  ProductCreate,
  ProductFilters,
  Reservation,
  ReservationFilters,
  Shortage,
  StoredResponse,
} from '@tradeos/contract';

export type { IdempotencyRequest, PageOptions, ProductFilters, StoredResponse };

export interface Page<T> {
  items: T[];
  /** Null when the page was asked with `count: 'none'`. */
  total: number | null;
  /** True when `total` is the planner's estimate rather than a count. */
  estimated?: boolean;
  /** Contract v1.2: the cursor of the next page; null on the last. */
  nextCursor: string | null;
}

export type ProductPatch = Partial<ProductCreate>;
export type CategoryPatch = Partial<CategoryCreate>;
export type QuantityChange = { delta: number } | { quantity: number };
export interface UpsertOutcome {
  sku: string;
  id: number;
  status: BulkStatus;
}
/** What a keyed write did: ran (its value), or found its key stored (the response to replay). */
export type Once<T> = { replayed: false; value: T } | { replayed: true; response: StoredResponse };
/** How a keyed create's response is stored: its status, and its Location as this prefix, a slash and the new id. */
export interface CreatedResponse {
  status: number;
  locationPrefix: string;
}
export type QuantityResult = { status: 'ok'; product: Product } | { status: 'not_found' } | { status: 'insufficient'; quantity: number };

/**
 * Every call takes an optional `signal`: when it aborts (the request's deadline passed, or its client left) the
 * call ends at once with a `timeout` StoreError, and the store cancels the database work it can.
 */
export interface ProductStore {
  list(filters: ProductFilters, page: PageOptions, signal?: AbortSignal): Promise<Page<Product>>;
  /**
   * Like `list`; without `page.sortBy`: exact name, then names starting with `q`, then the rest. With `page.match`
   * `words` (contract v1.3): by words, ranked as the contract orders them; `count` then defaults to estimated.
   */
  search(q: string, filters: ProductFilters, page: PageOptions, signal?: AbortSignal): Promise<Page<Product>>;
  /** Null when no category has this name (any letter case). */
  byCategory(category: string, filters: ProductFilters, page: PageOptions, signal?: AbortSignal): Promise<Page<Product> | null>;
  byId(id: number, signal?: AbortSignal): Promise<Product | null>;
  create(fields: ProductCreate, signal?: AbortSignal): Promise<Product>;
  /**
   * Contract v1.2: `create` under an idempotency key, the key's lookup and row in the same single statement as the
   * insert (so a keyed create costs about what a plain one does); the same outcomes as `CatalogStore.once`.
   */
  createOnce(request: IdempotencyRequest, fields: ProductCreate, response: CreatedResponse, signal?: AbortSignal): Promise<Once<Product>>;
  /** Contract v1.2: creates or updates every item by sku, all or nothing; outcomes in input order. */
  upsertMany(items: ProductBulkItem[], signal?: AbortSignal): Promise<UpsertOutcome[]>;
  /**
   * Null when the product does not exist. With `expectedVersion` (contract v1.2) the change happens only at that
   * version, atomically; another version is a `version_mismatch` StoreError and nothing changes. So for the rest.
   */
  update(id: number, patch: ProductPatch, signal?: AbortSignal, expectedVersion?: number): Promise<Product | null>;
  /** One atomic change: never takes the stock below 0. */
  changeQuantity(id: number, change: QuantityChange, signal?: AbortSignal, expectedVersion?: number): Promise<QuantityResult>;
  /** False when the product did not exist. */
  delete(id: number, signal?: AbortSignal, expectedVersion?: number): Promise<boolean>;
}

export interface CategoryStore {
  list(signal?: AbortSignal): Promise<Category[]>;
  byId(id: number, signal?: AbortSignal): Promise<Category | null>;
  create(fields: CategoryCreate, signal?: AbortSignal): Promise<Category>;
  update(id: number, patch: CategoryPatch, signal?: AbortSignal, expectedVersion?: number): Promise<Category | null>;
  delete(id: number, signal?: AbortSignal, expectedVersion?: number): Promise<boolean>;
}

/** Contract v1.3: what a reservation create takes (the contract's input with its defaults applied). */
export interface ReservationInput {
  items: { product_id: number; quantity: number }[];
  ttl_seconds: number;
  reference?: string;
}

/** A commit or release: the reservation after it (or as it already stood), or no such reservation. */
export type ReservationOutcome = { status: 'ok'; reservation: Reservation } | { status: 'not_found' };

/**
 * Contract v1.3, stock reservations. Statuses are computed at the read. A create short of stock fails with an
 * `insufficient` StoreError carrying `shortages`; an unknown product is an `invalid` one at its item's path; a
 * transition from the wrong state an `in_use` one (409); another version than `expectedVersion` a `version_mismatch`.
 */
export interface ReservationStore {
  create(input: ReservationInput, signal?: AbortSignal): Promise<Reservation>;
  byId(id: string, signal?: AbortSignal): Promise<Reservation | null>;
  list(filters: ReservationFilters, page: { skip: number; limit: number; cursor?: string }, signal?: AbortSignal): Promise<Page<Reservation> & { total: number }>;
  commit(id: string, signal?: AbortSignal, expectedVersion?: number): Promise<ReservationOutcome>;
  release(id: string, signal?: AbortSignal, expectedVersion?: number): Promise<ReservationOutcome>;
}

/** The writes a key can guard in a transaction; inside `once` they run in the key's transaction (a product create has `createOnce`). */
export interface KeyedWrites {
  products: Pick<ProductStore, 'upsertMany'>;
  categories: Pick<CategoryStore, 'create'>;
  reservations: Pick<ReservationStore, 'create'>;
}

export interface EventQuery {
  /** Only events after this id; omitted: from the oldest event kept. */
  after?: string;
  /** Only these types; omitted: all (the router always names them: without `types`, a consumer gets the v1.2 ones). */
  types?: EventType[];
}

/**
 * The change feed: every committed change once, in id order, never an event that an earlier, still uncommitted
 * one could precede. A cursor older than the events kept fails with a `gone` StoreError.
 */
export interface EventStore {
  /** The next events after `query.after`; `nextAfter` is the next call's `after`, `horizon` what `wait` takes. */
  page(query: EventQuery & { limit: number }, signal?: AbortSignal): Promise<{ items: Event[]; nextAfter: string; horizon: string }>;
  /**
   * Resolves once an event of the query may be past the page's `horizon` (`since`), or after `timeoutMs`, or on abort:
   * with the query's events that arrived, when the store holds them in memory (no query), else undefined.
   */
  wait(since: string, query: EventQuery, timeoutMs: number, signal?: AbortSignal): Promise<Event[] | undefined>;
  /** Every event after `query.after`, endlessly, until `signal` aborts. */
  follow(query: EventQuery, signal: AbortSignal): AsyncIterable<Event>;
}

export interface CatalogStore {
  products: ProductStore;
  categories: CategoryStore;
  reservations: ReservationStore;
  /**
   * Runs `work` once per key within 24 hours, storing its result (and the status and Location `respond` gives)
   * with its write: a repeat of the same request replays it; the key with another request is a `key_reused`
   * StoreError; a repeat while the first still runs an `in_flight` one.
   */
  once<T>(
    request: IdempotencyRequest,
    respond: (value: T) => Omit<StoredResponse, 'body'>,
    work: (writes: KeyedWrites) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<Once<T>>;
  /** Deletes keys past their 24 hours in small batches (never blocking requests); returns how many. */
  purgeIdempotencyKeys(): Promise<number>;
  events: EventStore;
  /** True when the database answers within `timeoutMs`; never throws, and a busy store does not delay it. */
  ping(timeoutMs: number): Promise<boolean>;
  /** Contract v1.3: each configured replica's last known state (none configured: empty). */
  replicas(): { state: 'healthy' | 'lagging' | 'down' }[];
  /** True when migrations this build knows are not applied yet (false when that cannot be told in `timeoutMs`). */
  migrationsPending(timeoutMs: number): Promise<boolean>;
}

export const STORE_ERROR_KINDS = [
  'unique_violation',
  'missing_reference',
  'in_use',
  'out_of_range',
  'timeout',
  'unavailable',
  'busy',
  'version_mismatch',
  'in_flight',
  'key_reused',
  'invalid',
  'gone',
  'insufficient',
] as const;
export type StoreErrorKind = (typeof STORE_ERROR_KINDS)[number];

/** A failure a store classified: `field` names the input field at fault, `message` is safe to show a client. */
export interface StoreError extends Error {
  kind: StoreErrorKind;
  /** A field's name, or its path in a nested input (`["items", 3, "category"]`). */
  field?: string | (string | number)[];
  /** On `insufficient`: every short item of a reservation. */
  shortages?: Shortage[];
}

export function isStoreError(error: unknown): error is StoreError {
  return error instanceof Error && STORE_ERROR_KINDS.includes((error as Partial<StoreError>).kind as StoreErrorKind);
}
