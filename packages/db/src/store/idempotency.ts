/**
 * Contract v1.2: idempotency keys, stored in PostgreSQL so every worker and instance shares them and they survive
 * restarts. A keyed write runs in one transaction with its key: an advisory lock on the key makes a concurrent
 * repeat a 409 at once, and the key's row is written beside the write, so a key never exists without its write.
 */
import { createHash } from 'node:crypto';
import type { IdempotencyRequest, StoredResponse } from '@tradeos/contract';
import { QueryTypes, type Transaction } from 'sequelize';
import type { Database } from '../connection/database.js';
import { DataError } from '../errors.js';

/** Keys count for this long; older rows are treated as absent and purged. */
export const IDEMPOTENCY_RETENTION = '24 hours';

// The advisory lock's first key: its own class, apart from the migrator's one-key lock.
const LOCK_CLASS = 727_361_013;

export type { IdempotencyRequest, StoredResponse };

export type Once<T> = { replayed: false; value: T } | { replayed: true; response: StoredResponse };

/** The lock's second key: 32 bits of a digest of scope and key (a collision only makes a repeat wait its turn: 409). */
function lockKey({ scope, key }: IdempotencyRequest): number {
  return createHash('sha256').update(scope).update('\u0000').update(key).digest().readInt32BE(0);
}

/** The advisory lock of a request's key: two transactions holding one key's lock cannot run at once. */
export function keyLock(request: IdempotencyRequest): [number, number] {
  return [LOCK_CLASS, lockKey(request)];
}

export const inFlight = () => new DataError('in_flight', 'A request with this Idempotency-Key is still running; retry when it has finished');

/** A key's stored row as a repeat finds it. */
export interface StoredKey {
  request_hash: string;
  status: number;
  body: unknown;
  location: string | null;
}

/** What a stored key answers a request: its response again when the request is the same, else `key_reused`. */
export function replay(stored: StoredKey, request: IdempotencyRequest): { replayed: true; response: StoredResponse } {
  if (stored.request_hash !== request.hash) {
    throw new DataError('key_reused', 'This Idempotency-Key was already used for another request; use a new key for a new request');
  }
  return { replayed: true, response: { status: stored.status, body: stored.body, location: stored.location } };
}

/** Removes the key's row if it is past the retention, so a new request can take the key over. */
export async function dropExpiredKey(db: Database, request: IdempotencyRequest): Promise<void> {
  await db.query(`DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND created_at <= now() - interval '${IDEMPOTENCY_RETENTION}'`, [request.scope, request.key]);
}

class KeyRace extends Error {}

async function attempt<T>(
  db: Database,
  request: IdempotencyRequest,
  respond: (value: T) => Omit<StoredResponse, 'body'>,
  work: (transaction: Transaction) => Promise<T>,
): Promise<Once<T>> {
  return db.sequelize.transaction(async (transaction) => {
    const [found] = await db.sequelize.query<{ locked: boolean; request_hash: string | null } & StoredResponse>(
      `SELECT l.locked, k.request_hash, k.status, k.body, k.location
       FROM (SELECT pg_try_advisory_xact_lock($1, $2) AS locked) l
       LEFT JOIN idempotency_keys k ON k.scope = $3 AND k.key = $4 AND k.created_at > now() - interval '${IDEMPOTENCY_RETENTION}'`,
      { bind: [...keyLock(request), request.scope, request.key], type: QueryTypes.SELECT, transaction },
    );
    if (!found?.locked) throw inFlight();
    if (found.request_hash !== null) return replay({ ...found, request_hash: found.request_hash }, request);
    const value = await work(transaction);
    const { status, location } = respond(value);
    // An expired row is taken over; a live one means another request stored this key after our snapshot began.
    const stored = await db.sequelize.query(
      `INSERT INTO idempotency_keys (scope, key, request_hash, status, body, location) VALUES ($1, $2, $3, $4, $5::jsonb, $6)
       ON CONFLICT (scope, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, status = EXCLUDED.status, body = EXCLUDED.body,
         location = EXCLUDED.location, created_at = now()
       WHERE idempotency_keys.created_at <= now() - interval '${IDEMPOTENCY_RETENTION}'
       RETURNING 1`,
      { bind: [request.scope, request.key, request.hash, status, JSON.stringify(value), location], type: QueryTypes.SELECT, transaction },
    );
    if (!stored.length) throw new KeyRace();
    return { replayed: false, value };
  });
}

/**
 * Runs `work` once per (scope, key) within the retention: the first request's response is stored with its write, a
 * repeat of the same request gets it back (`replayed`), another request under the key is a `key_reused` error, and a
 * repeat while the first still runs an `in_flight` one. If the first committed between this one's read and its
 * write, this one rolled back and is tried once more, which then replays.
 */
export async function once<T>(
  db: Database,
  request: IdempotencyRequest,
  respond: (value: T) => Omit<StoredResponse, 'body'>,
  work: (transaction: Transaction) => Promise<T>,
): Promise<Once<T>> {
  try {
    return await attempt(db, request, respond, work);
  } catch (error) {
    if (!(error instanceof KeyRace) && !(await storedMeanwhile(db, request, error))) throw error;
    return attempt(db, request, respond, work);
  }
}

/**
 * The first statement's snapshot is taken before its lock: a request that committed this key in between holds the
 * lock no longer, yet its key is not seen, and this write then fails against the row it made (a unique sku: 409).
 * When a failed attempt finds the key stored now, the retry replays it.
 */
async function storedMeanwhile(db: Database, request: IdempotencyRequest, error: unknown): Promise<boolean> {
  if (error instanceof DataError && (error.kind === 'in_flight' || error.kind === 'key_reused')) return false;
  return keyStored(db, request);
}

/** True when the key has a live row now (read in a fresh snapshot). */
export async function keyStored(db: Database, request: IdempotencyRequest): Promise<boolean> {
  const found = await db.query(
    `SELECT 1 FROM idempotency_keys WHERE scope = $1 AND key = $2 AND created_at > now() - interval '${IDEMPOTENCY_RETENTION}'`,
    [request.scope, request.key],
  );
  return found.length > 0;
}

/**
 * Deletes keys past the retention in batches of `batch` (skipping rows another purge holds), so no request waits on
 * it; returns how many it deleted. Called on a timer, never on a request's path.
 */
export async function purgeIdempotencyKeys(db: Database, batch = 1_000): Promise<number> {
  let deleted = 0;
  for (;;) {
    const [result] = await db.sequelize.query<{ count: number }>(
      `WITH gone AS (
         DELETE FROM idempotency_keys WHERE (scope, key) IN (
           SELECT scope, key FROM idempotency_keys WHERE created_at <= now() - interval '${IDEMPOTENCY_RETENTION}'
           ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING 1)
       SELECT count(*)::int AS count FROM gone`,
      { bind: [batch], type: QueryTypes.SELECT },
    );
    deleted += result?.count ?? 0;
    if ((result?.count ?? 0) < batch) return deleted;
  }
}
