/**
 * Stock reservations (contract v1.3), the writes: create, commit, release and the sweeper, each one transaction that
 * locks what it changes in a fixed order (the reservation, then its products by id), so no two of them deadlock.
 * Every decision about time is taken by the database's clock after those locks (see the README's "Stock reservations").
 */
import { QueryTypes, type Transaction } from 'sequelize';
import type { Database } from '../connection/database.js';
import type { Shortage } from '@tradeos/contract';
import { DataError, ShortageError, versionMismatch } from '../errors.js';
import { heldUnits } from './held.js';
import { reservationJson, type ReservationRow } from './reads.js';

export interface ReservationInput {
  items: { product_id: number; quantity: number }[];
  ttl_seconds: number;
  reference?: string;
}

/** What a commit or release found: the reservation after it (or as it stood), or no such reservation. */
export type Transition = { status: 'ok'; row: ReservationRow } | { status: 'not_found' };

type Select = <T extends object>(sql: string, bind: unknown[]) => Promise<T[]>;

/** `work` in `transaction` when given (an idempotency key's), else in one of its own. */
function inTransaction<T>(db: Database, transaction: Transaction | undefined, work: (select: Select) => Promise<T>): Promise<T> {
  const run = (t: Transaction) => work(<R extends object>(sql: string, bind: unknown[]) => db.sequelize.query<R>(sql, { bind, type: QueryTypes.SELECT, transaction: t }));
  return transaction ? run(transaction) : db.sequelize.transaction(run);
}


/**
 * Holds every item or none. The products' rows are locked in id order (two reservations over the same products in
 * opposite order cannot deadlock); the next statement, with a snapshot taken after the locks, sees every hold and
 * stock change committed before them and reads the clock once: holds past it count for nothing.
 */
export function createReservation(db: Database, input: ReservationInput, transaction?: Transaction): Promise<ReservationRow> {
  const ids = input.items.map((item) => item.product_id);
  return inTransaction(db, transaction, async (select) => {
    const found = await select<{ id: number }>('SELECT id FROM products WHERE id = ANY($1::int[]) ORDER BY id FOR UPDATE', [ids]);
    const known = new Set(found.map((row) => row.id));
    const missing = ids.findIndex((id) => !known.has(id));
    if (missing >= 0) throw new DataError('invalid', `no product with id ${ids[missing]} exists`, ['items', missing, 'product_id']);
    const [outcome] = await select<{ reservation: ReservationRow | null; shortages: Shortage[] | null }>(
      `WITH t AS MATERIALIZED (SELECT clock_timestamp() AS at),
       input AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS i (product_id integer, quantity integer)),
       stock AS MATERIALIZED (
         SELECT i.product_id, i.quantity AS requested, greatest(p.quantity - ${heldUnits('i.product_id', 't.at')}, 0) AS available
         FROM input i JOIN products p ON p.id = i.product_id CROSS JOIN t),
       short AS MATERIALIZED (SELECT * FROM stock WHERE requested > available),
       r AS (
         INSERT INTO reservations (reference, expires_at, created_at, updated_at)
         SELECT $2, date_trunc('milliseconds', t.at) + $3::int * interval '1 second', date_trunc('milliseconds', t.at), date_trunc('milliseconds', t.at)
         FROM t WHERE NOT EXISTS (SELECT FROM short)
         RETURNING *),
       held AS (
         INSERT INTO reservation_items (reservation_id, product_id, quantity, held_until)
         SELECT r.id, i.product_id, i.quantity, r.expires_at FROM r, input i ORDER BY i.product_id
         RETURNING *),
       event AS (
         INSERT INTO events (type, entity, entity_key, version, data)
         SELECT 'reservation.created', 'reservation', r.id, r.version, ${reservationJson('r', 'held')} FROM r
         RETURNING data)
       SELECT (SELECT data FROM event) AS reservation,
              (SELECT jsonb_agg(jsonb_build_object('product_id', product_id, 'requested', requested, 'available', available)) FROM short) AS shortages`,
      [JSON.stringify(input.items), input.reference ?? null, input.ttl_seconds],
    );
    if (outcome?.shortages) {
      const order = new Map(ids.map((id, index) => [id, index]));
      throw new ShortageError(outcome.shortages.sort((a, b) => order.get(a.product_id)! - order.get(b.product_id)!));
    }
    return outcome!.reservation!;
  });
}

interface Locked {
  state: ReservationRow['state'];
  version: number;
  /** Past `expires_at` by the clock when the row was locked. */
  overdue: boolean;
}

/** The reservation's row, locked: every transition of one reservation runs one at a time. */
async function lock(select: Select, id: string): Promise<Locked | undefined> {
  const [row] = await select<Locked>('SELECT state, version, expires_at <= clock_timestamp() AS overdue FROM reservations WHERE id = $1 FOR UPDATE', [id]);
  return row;
}

const conflict = (id: string, message: string) => new DataError('in_use', `Reservation ${id} ${message}`);

/** Sets the final state, bumps the version and appends its event, in one statement; the reservation as it is now. */
async function finish(select: Select, id: string, state: 'committed' | 'released'): Promise<ReservationRow> {
  const [row] = await select<{ reservation: ReservationRow }>(
    `WITH r AS (UPDATE reservations SET state = $2, version = version + 1 WHERE id = $1 RETURNING *),
     event AS (INSERT INTO events (type, entity, entity_key, version, data) SELECT 'reservation.' || r.state, 'reservation', r.id, r.version, ${reservationJson('r')} FROM r RETURNING data)
     SELECT data AS reservation FROM event`,
    [id, state],
  );
  return row!.reservation;
}

/** The reservation as it stands, for an answer that changes nothing; its status as of the clock now. */
async function current(select: Select, id: string): Promise<ReservationRow> {
  const [row] = await select<{ reservation: ReservationRow }>(
    `SELECT ${reservationJson('r')} || jsonb_build_object('read_at', clock_timestamp()) AS reservation FROM reservations r WHERE r.id = $1`,
    [id],
  );
  return row!.reservation;
}

/**
 * Takes the held units out of stock. Order of answers: 404, already committed (200, before If-Match), 412, released
 * or expired (409). The expiry is decided after the products are locked, by the clock then: a reservation that another
 * one already counted as expired (under the same locks, earlier) can never be committed after it.
 */
export function commitReservation(db: Database, id: string, expectedVersion?: number): Promise<Transition> {
  return inTransaction(db, undefined, async (select) => {
    const found = await lock(select, id);
    if (!found) return { status: 'not_found' };
    if (found.state === 'committed') return { status: 'ok', row: await current(select, id) };
    if (expectedVersion !== undefined && expectedVersion !== found.version) throw versionMismatch('Reservation', id, found.version, expectedVersion);
    if (found.state !== 'active' || found.overdue) throw conflict(id, found.state === 'released' ? 'was released; it cannot be committed' : 'has expired; it cannot be committed');
    await select('SELECT id FROM products WHERE id IN (SELECT product_id FROM reservation_items WHERE reservation_id = $1) ORDER BY id FOR UPDATE', [id]);
    // Released only while still held by the clock now, under the product locks; none held means it just expired.
    const taken = await select('UPDATE reservation_items SET held_until = NULL WHERE reservation_id = $1 AND held_until > clock_timestamp() RETURNING product_id', [id]);
    if (!taken.length) throw conflict(id, 'has expired; it cannot be committed');
    // A separate statement: the stock guard's trigger then sees these units no longer held.
    await select('UPDATE products p SET quantity = p.quantity - i.quantity FROM reservation_items i WHERE i.reservation_id = $1 AND p.id = i.product_id RETURNING p.id', [id]);
    return { status: 'ok', row: await finish(select, id, 'committed') };
  });
}

/**
 * Gives the held units back. Order of answers: 404, already released or expired (200 with it, before If-Match), 412,
 * committed (409). An active reservation past its `expires_at` holds nothing already: it answers `expired` unchanged.
 */
export function releaseReservation(db: Database, id: string, expectedVersion?: number): Promise<Transition> {
  return inTransaction(db, undefined, async (select) => {
    const found = await lock(select, id);
    if (!found) return { status: 'not_found' };
    if (found.state === 'released' || found.state === 'expired' || (found.state === 'active' && found.overdue)) return { status: 'ok', row: await current(select, id) };
    if (expectedVersion !== undefined && expectedVersion !== found.version) throw versionMismatch('Reservation', id, found.version, expectedVersion);
    if (found.state === 'committed') throw conflict(id, 'was committed; it cannot be released');
    const freed = await select('UPDATE reservation_items SET held_until = NULL WHERE reservation_id = $1 AND held_until > clock_timestamp() RETURNING product_id', [id]);
    // It expired between the lock and now: nothing left to give back.
    if (!freed.length) return { status: 'ok', row: await current(select, id) };
    return { status: 'ok', row: await finish(select, id, 'released') };
  });
}

/**
 * The sweeper: marks up to `batch` overdue active reservations `expired`, clears their holds and appends their
 * `reservation.expired` events. Tidying only: every read and write already treats them as expired. Rows a commit or
 * release holds are skipped (that call decides them). Returns how many it marked.
 */
export async function sweepExpired(db: Database, batch = 500): Promise<number> {
  const [row] = await db.sequelize.query<{ swept: number }>(
    `WITH due AS (
       SELECT id FROM reservations WHERE state = 'active' AND expires_at <= clock_timestamp() ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED),
     r AS (UPDATE reservations r SET state = 'expired' FROM due WHERE r.id = due.id RETURNING r.*),
     cleared AS (UPDATE reservation_items i SET held_until = NULL FROM r WHERE i.reservation_id = r.id RETURNING i.reservation_id),
     event AS (INSERT INTO events (type, entity, entity_key, version, data) SELECT 'reservation.expired', 'reservation', r.id, r.version, ${reservationJson('r')} FROM r ORDER BY r.expires_at RETURNING 1)
     SELECT count(*)::int AS swept FROM event`,
    { bind: [batch], type: QueryTypes.SELECT },
  );
  return row?.swept ?? 0;
}
