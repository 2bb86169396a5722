/**
 * Stock reservations (contract v1.3), the reads: one by id (through the models) and the list. Each row carries the
 * database's clock at the read (`read_at`), from which the status is computed: an active one past `expires_at` is
 * expired, whatever the sweeper has done so far.
 */
import type { ReservationFilters, ReservationStatus } from '@tradeos/contract';
import { literal, QueryTypes } from 'sequelize';
import type { Database } from '../connection/database.js';
import { Reservation } from '../schema/models/reservation.js';
import { ReservationItem } from '../schema/models/reservation-item.js';
import type { ReservationState } from '../schema/models/reservation.js';
import { DataError } from '../errors.js';
import { decodeCursor, encodeCursor, fingerprint } from '../store/cursor.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A reservation as the queries return it (JSON from the database: timestamps as text, or Dates from the models). */
export interface ReservationRow {
  id: string;
  state: ReservationState;
  reference: string | null;
  expires_at: string | Date;
  version: number;
  created_at: string | Date;
  items: { product_id: number; quantity: number }[];
  /** The clock at the read; absent where the state is the status (an event, a write's own answer). */
  read_at?: string | Date;
}

/**
 * The reservation `alias` as one JSON value, its items (from the table, or from the CTE `items` of the same
 * statement, whose rows a table read cannot see yet) in product order.
 */
export const reservationJson = (alias: string, items = 'reservation_items') =>
  `jsonb_build_object('id', ${alias}.id, 'state', ${alias}.state, 'reference', ${alias}.reference, 'expires_at', ${alias}.expires_at,
     'version', ${alias}.version, 'created_at', ${alias}.created_at,
     'items', (SELECT jsonb_agg(jsonb_build_object('product_id', x.product_id, 'quantity', x.quantity) ORDER BY x.product_id)
               FROM ${items} x WHERE x.reservation_id = ${alias}.id))`;

/** The reservation with its items, and the clock of the read; null when there is none. */
export async function getReservationById(db: Database, id: string): Promise<ReservationRow | null> {
  const found = await db.sequelize.getRepository(Reservation).findByPk(id, {
    attributes: { include: [[literal('clock_timestamp()'), 'read_at']] },
    include: [{ model: db.sequelize.getRepository(ReservationItem), as: 'items', attributes: ['product_id', 'quantity'] }],
    order: [[{ model: db.sequelize.getRepository(ReservationItem), as: 'items' }, 'product_id', 'ASC']],
  });
  if (!found) return null;
  const row = found.get({ plain: true }) as Reservation & { read_at: Date; items: ReservationItem[] };
  return {
    id: row.id,
    state: row.state,
    reference: row.reference,
    expires_at: row.expires_at,
    version: row.version,
    created_at: row.created_at,
    items: row.items.map((item) => ({ product_id: item.product_id, quantity: item.quantity })),
    read_at: row.read_at,
  };
}

// The status as computed at the read, as a condition on `reservations r` (`now()`: the statement's instant).
const STATUS: Record<ReservationStatus, string> = {
  active: `r.state = 'active' AND r.expires_at > now()`,
  expired: `(r.state = 'expired' OR (r.state = 'active' AND r.expires_at <= now()))`,
  committed: `r.state = 'committed'`,
  released: `r.state = 'released'`,
};

export interface ReservationListPage {
  rows: ReservationRow[];
  total: number;
  nextCursor: string | null;
}

/** Newest first (ties by id): the page and its total from one statement, so from one snapshot. */
export async function listReservations(db: Database, filters: ReservationFilters, page: { skip: number; limit: number; cursor?: string }): Promise<ReservationListPage> {
  const binds: unknown[] = [];
  const bind = (value: unknown) => `$${binds.push(value)}`;
  const where: string[] = [];
  if (filters.status !== undefined) where.push(STATUS[filters.status]);
  if (filters.productId !== undefined) where.push(`r.id IN (SELECT reservation_id FROM reservation_items WHERE product_id = ${bind(filters.productId)})`);
  if (filters.reference !== undefined) where.push(`r.reference = ${bind(filters.reference)}`);
  const print = fingerprint(['reservations', filters]);
  const after: string[] = [];
  if (page.cursor !== undefined) {
    const [at, id] = decodeCursor(page.cursor, print, ['timestamp', 'text']);
    if (!UUID.test(String(id))) throw new DataError('invalid', 'is not a cursor of this list', 'cursor');
    after.push(`(r.created_at, r.id) < (${bind(at)}::timestamptz, ${bind(id)}::uuid)`);
  }
  const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const pageFilter = [...where, ...after].length ? `WHERE ${[...where, ...after].join(' AND ')}` : '';
  const rows = await db.sequelize.query<{ total: number; reservation: ReservationRow | null }>(
    `SELECT t.total, CASE WHEN r.id IS NULL THEN NULL ELSE ${reservationJson('r')} || jsonb_build_object('read_at', now()) END AS reservation
     FROM (SELECT count(*)::int AS total FROM reservations r ${filter}) t
     LEFT JOIN LATERAL (SELECT * FROM reservations r ${pageFilter} ORDER BY r.created_at DESC, r.id DESC LIMIT ${bind(page.limit + 1)} OFFSET ${bind(page.skip)}) r ON true
     ORDER BY r.created_at DESC, r.id DESC`,
    { bind: binds, type: QueryTypes.SELECT },
  );
  const found = rows.flatMap((row) => (row.reservation ? [row.reservation] : []));
  const shown = found.slice(0, page.limit);
  const last = shown.at(-1);
  const nextCursor = found.length > page.limit && last ? encodeCursor(print, [new Date(last.created_at).toISOString(), last.id]) : null;
  return { rows: shown, total: rows[0]?.total ?? 0, nextCursor };
}
