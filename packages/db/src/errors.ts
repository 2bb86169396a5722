/**
 * Classifies driver errors into the kinds the API's storage port knows (`StoreError`), without anything of HTTP:
 * unique violations name their field, a missing category is a bad reference, a referenced row is in use.
 */
import type { Shortage } from '@tradeos/contract';

// Socket failures, server shutdown/start-up (57P0x), connection exceptions (08xxx), and what refuses a new session:
// a wrong password or role (28xxx), a missing database (3D000), too many connections (53300). A FATAL 08P01 ends the
// session too: it is how PgBouncer reports each of its failures (`server conn crashed?`, `pgbouncer cannot connect
// to server`, `no more connections allowed`); PostgreSQL's own 08P01 (a malformed message) is an ERROR, a bug.
const CONNECTION_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'EPIPE',
  '57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006', '28000', '28P01', '3D000', '53300',
]);
const CONNECTION_NAMES = new Set([
  'SequelizeConnectionError',
  'SequelizeConnectionRefusedError',
  'SequelizeConnectionTimedOutError',
  'SequelizeConnectionAcquireTimeoutError',
  'SequelizeHostNotFoundError',
  'SequelizeHostNotReachableError',
  'SequelizeAccessDeniedError',
]);

interface ErrorLike {
  name?: string;
  code?: string;
  severity?: string;
  message?: string;
  constraint?: string;
  detail?: string;
  parent?: ErrorLike;
  original?: ErrorLike;
  cause?: ErrorLike;
}

/** The error and its causes as the driver and Sequelize nest them. */
function* chain(error: unknown): Generator<ErrorLike> {
  let current = error as ErrorLike | undefined;
  for (let depth = 0; current && depth < 5; depth += 1) {
    yield current;
    current = current.parent ?? current.original ?? current.cause;
  }
}

/** True when the error means "the database cannot be reached right now", as opposed to a bad query. */
export function isConnectionError(error: unknown): boolean {
  for (const current of chain(error)) {
    if (current.name && CONNECTION_NAMES.has(current.name)) return true;
    if (current.code && CONNECTION_CODES.has(current.code)) return true;
    if (current.code === '08P01' && current.severity === 'FATAL') return true;
    if (current.message && /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(current.message)) return true;
  }
  return false;
}

/**
 * True when the connection that gave this error is no use any more: it failed, or the server ended its session (a
 * FATAL error: terminated, shut down, an idle timeout) and is closing it, though the socket may not show it yet.
 */
export function endsSession(error: unknown): boolean {
  return isConnectionError(error) || [...chain(error)].some((e) => e.severity === 'FATAL' || e.severity === 'PANIC');
}

export type DataErrorKind =
  | 'unique_violation'
  | 'missing_reference'
  | 'in_use'
  | 'out_of_range'
  | 'timeout'
  | 'unavailable'
  | 'busy'
  | 'version_mismatch'
  | 'in_flight'
  | 'key_reused'
  | 'invalid'
  | 'gone'
  | 'insufficient';

/** A classified failure; its message is written for a client and never holds SQL or driver text. */
export class DataError extends Error {
  override readonly name = 'DataError';

  constructor(
    readonly kind: DataErrorKind,
    message: string,
    /** The input field at fault: its name, or its path in a nested input (`["items", 3, "category"]`). */
    readonly field?: string | (string | number)[],
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

// Unique constraints and the field each protects, with the message a client sees.
const UNIQUE: Record<string, { field: string; message: string }> = {
  products_sku_key: { field: 'sku', message: 'A product with this sku already exists' },
  categories_name_lower_key: { field: 'name', message: 'A category with this name already exists' },
};

function fromPostgres(error: ErrorLike, cause: unknown): DataError | undefined {
  switch (error.code) {
    case '23505': {
      const unique = UNIQUE[error.constraint ?? ''];
      return new DataError('unique_violation', unique?.message ?? 'This value must be unique', unique?.field, { cause });
    }
    case '23503':
      // A row pointing at a missing category is bad input; a category still pointed at cannot go.
      if (error.constraint === 'products_category_id_fkey' && /is not present/.test(error.detail ?? '')) {
        return new DataError('missing_reference', 'no category with this id exists', 'category_id', { cause });
      }
      return new DataError('in_use', 'The category still has products', undefined, { cause });
    case '23001':
      // PostgreSQL 18 reports ON DELETE RESTRICT as 23001, 15 as 23503.
      return new DataError('in_use', 'The category still has products', undefined, { cause });
    case '22003':
      return new DataError('out_of_range', 'a number is out of range', undefined, { cause });
    case '57014':
      return new DataError('timeout', 'The database took too long to answer', undefined, { cause });
    case 'TR409':
      // The stock guard's own message (migration 2026.12.06T21.01.00): a product id and unit counts, nothing more.
      return new DataError('in_use', error.message ?? 'The product is held by active reservations', undefined, { cause });
    default:
      return undefined;
  }
}

/** Contract v1.3: a reservation found too little available stock (409, with every short item). */
export class ShortageError extends DataError {
  constructor(readonly shortages: Shortage[]) {
    const listed = shortages.map((s) => `product ${s.product_id} (requested ${s.requested}, available ${s.available})`).join(', ');
    super('insufficient', `Not enough available stock for ${listed}; nothing was reserved`);
  }
}

/** A conditional write found the row at another version than the caller expected (contract v1.2: 412). */
export function versionMismatch(entity: 'Product' | 'Category' | 'Reservation', id: number | string, current: number, expected: number): DataError {
  return new DataError('version_mismatch', `${entity} ${id} is at version ${current}, not ${expected}; nothing changed`);
}

/**
 * True when the call only waited too long for a connection of a full pool: Sequelize's, pg's, or a transaction
 * pooler's (PgBouncer's `query_wait_timeout`, a FATAL 08P01 sent before the statement reached a server): busy, not
 * down, and nothing was attempted.
 */
export function isPoolWait(error: unknown): boolean {
  for (const current of chain(error)) {
    if (current.name === 'SequelizeConnectionAcquireTimeoutError' || current.message === 'timeout exceeded when trying to connect') return true;
    if (current.code === '08P01' && current.message === 'query_wait_timeout') return true;
  }
  return false;
}

// A deadlock's victim (40P01) or a serialization failure (40001): PostgreSQL rolled the transaction back whole, so
// running it again is safe.
const RETRYABLE_CODES = new Set(['40P01', '40001']);

/** True when the statement or transaction failed only because it collided with others, and changed nothing. */
export function isRetryable(error: unknown): boolean {
  for (const current of chain(error)) if (current.code && RETRYABLE_CODES.has(current.code)) return true;
  return false;
}

/** True when the driver gave up waiting for an answer (its client-side `query_timeout`). */
function isClientTimeout(error: unknown): boolean {
  for (const current of chain(error)) if (current.message === 'Query read timeout') return true;
  return false;
}

/** The classified form of a driver or Sequelize error; anything unknown is returned as it came. */
export function classify(error: unknown): unknown {
  if (error instanceof DataError) return error;
  if (isPoolWait(error)) return new DataError('busy', 'The service is busy: no database connection was free in time; nothing was changed', undefined, { cause: error });
  if (isRetryable(error)) return new DataError('busy', 'The service is busy: the write kept colliding with others; nothing was changed', undefined, { cause: error });
  if (isConnectionError(error)) return new DataError('unavailable', 'The database is unavailable', undefined, { cause: error });
  if (isClientTimeout(error)) return new DataError('timeout', 'The database took too long to answer', undefined, { cause: error });
  for (const current of chain(error)) {
    if (typeof current.code === 'string' && /^[0-9A-Z]{5}$/.test(current.code)) return fromPostgres(current, error) ?? error;
  }
  return error;
}

// pg's words when the server asks for a password that the URL does not carry (SCRAM, or a password callback).
const NO_PASSWORD = /client password must be a string|Password must be a string/;

/** True when the server refused the login (no password, wrong password, unknown role): retrying will not help. */
export function isCredentialError(error: unknown): boolean {
  return [...chain(error)].some((e) => NO_PASSWORD.test(e.message ?? '') || e.code === '28P01' || e.code === '28000');
}

/** The one line an operator reads about a database failure: never a stack trace or a connection string. */
export function describeDatabaseError(error: unknown): string {
  const causes = [...chain(error)];
  if (causes.some((e) => NO_PASSWORD.test(e.message ?? ''))) {
    return 'the database server asks for a password and DATABASE_URL has none (postgres://user:password@host:port/database)';
  }
  const refused = causes.find((e) => e.code === '28P01' || e.code === '28000');
  if (refused) return `the database refused the login: ${refused.message ?? refused.code ?? 'unknown reason'}`;
  const root = causes.at(-1) ?? {};
  const detail = [root.code, root.message].filter(Boolean).join(' ') || String(error);
  return isConnectionError(error) ? `cannot reach the database (${detail}); is PostgreSQL running and DATABASE_URL right?` : detail;
}
