/**
 * Stock reservations (contract v1.3) as the API's storage port takes them: the queries of this folder, their rows
 * mapped to the contract's Reservation in one place (`rows.ts`). `run` and `write` are the catalog store's runners
 * (classified failures, the change feed told of each write).
 */
import type { Reservation, ReservationFilters } from '@tradeos/contract';
import type { Transaction } from 'sequelize';
import type { Database } from '../connection/database.js';
import { toReservation } from '../rows.js';
import { getReservationById, listReservations } from './reads.js';
import { commitReservation, createReservation, releaseReservation, sweepExpired, type ReservationInput, type Transition } from './writes.js';

type Runner = <T>(signal: AbortSignal | undefined, work: () => Promise<T>) => Promise<T>;

export type ReservationOutcome = { status: 'ok'; reservation: Reservation } | { status: 'not_found' };

const outcome = (transition: Transition): ReservationOutcome =>
  transition.status === 'ok' ? { status: 'ok', reservation: toReservation(transition.row) } : transition;

/** The create an idempotency key can guard: inside the key's transaction when given one. */
export const keyedReservationWrites = (db: Database, write: Runner, transaction?: Transaction) => ({
  create: (input: ReservationInput, signal?: AbortSignal) => write(signal, async () => toReservation(await createReservation(db, input, transaction))),
});

export function reservationStore(db: Database, run: Runner, write: Runner) {
  return {
    ...keyedReservationWrites(db, write),
    byId: (id: string, signal?: AbortSignal) =>
      run(signal, async () => {
        const row = await getReservationById(db, id);
        return row ? toReservation(row) : null;
      }),
    list: (filters: ReservationFilters, page: { skip: number; limit: number; cursor?: string }, signal?: AbortSignal) =>
      run(signal, async () => {
        const { rows, total, nextCursor } = await listReservations(db, filters, page);
        return { items: rows.map(toReservation), total, nextCursor };
      }),
    commit: (id: string, signal?: AbortSignal, expectedVersion?: number) => write(signal, async () => outcome(await commitReservation(db, id, expectedVersion))),
    release: (id: string, signal?: AbortSignal, expectedVersion?: number) => write(signal, async () => outcome(await releaseReservation(db, id, expectedVersion))),
    /** Marks overdue reservations expired (a batch) and appends their events; returns how many. Tidying only. */
    sweep: () => write(undefined, () => sweepExpired(db)),
  };
}
