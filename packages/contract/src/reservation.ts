/** Contract v1.3, stock reservations: the resource as returned, what a create takes, list queries, the 409's shortages. */
import { z } from 'zod';
import { ExpectedVersion, Id, INT32_MAX, text, Timestamp, Version } from './common.js';

export const ReservationId = z.uuid().meta({ description: 'A reservation id (uuid).', example: '0b6f5c9e-2a41-4c3e-9d7a-5f1e8b2c4d60' });

export const reservationStatuses = ['active', 'committed', 'released', 'expired'] as const;
export type ReservationStatus = (typeof reservationStatuses)[number];

/** Most items in one reservation; the longest and default hold. */
export const MAX_RESERVATION_ITEMS = 100;
export const MAX_TTL_SECONDS = 86_400;
export const DEFAULT_TTL_SECONDS = 900;

const Units = z.number().int().min(1).max(INT32_MAX);

export const Reservation = z
  .object({
    id: ReservationId,
    status: z.enum(reservationStatuses).meta({ description: 'Computed at the read: an active reservation past `expires_at` is `expired` and holds nothing.' }),
    reference: z.string().min(1).max(200).nullable(),
    expires_at: Timestamp,
    items: z.array(z.object({ product_id: Id, quantity: Units })),
    created_at: Timestamp,
    version: Version.meta({ description: '1 on create, +1 on commit and on release (an expiry keeps it).', example: 1 }),
  })
  .meta({ id: 'Reservation' });
export type Reservation = z.infer<typeof Reservation>;

export const ReservationCreate = z.strictObject({
  items: z
    .array(z.strictObject({ product_id: Id, quantity: Units }))
    .min(1)
    .max(MAX_RESERVATION_ITEMS)
    .superRefine((items, ctx) => {
      const seen = new Map<number, number>();
      items.forEach((item, index) => {
        const first = seen.get(item.product_id);
        if (first === undefined) seen.set(item.product_id, index);
        else ctx.addIssue({ code: 'custom', path: [index, 'product_id'], message: `repeats the product of items[${first}]` });
      });
    }),
  ttl_seconds: z.number().int().min(1).max(MAX_TTL_SECONDS).default(DEFAULT_TTL_SECONDS).meta({ description: `Seconds the stock is held; default ${DEFAULT_TTL_SECONDS}.` }),
  reference: text(200).min(1, 'must not be empty').optional().meta({ description: 'Your own reference, e.g. the order number.', example: 'order-7731' }),
});
export type ReservationCreate = z.input<typeof ReservationCreate>;

export const ReservationIdInput = z.strictObject({ id: ReservationId });

/** Commit and release: the id and, optionally, the version the caller last saw (REST: `If-Match`). */
export const ReservationTransition = z.strictObject({ id: ReservationId, expected_version: ExpectedVersion });

export const ReservationListQuery = z
  .strictObject({
    status: z.enum(reservationStatuses).optional().meta({ description: 'As computed at the read.' }),
    product_id: Id.optional().meta({ description: 'Only reservations holding (or that held) this product.' }),
    reference: text(200).min(1, 'must not be empty').optional().meta({ description: 'Only reservations created with this reference, exactly.' }),
    skip: z.number().int().min(0).max(10_000).optional().meta({ description: 'Rows to skip; default 0. Not together with `cursor`.' }),
    cursor: z.string().min(1).max(1024).optional().meta({ description: 'Opaque: the `next_cursor` of the previous page, with the same filters. Not together with `skip`.' }),
    limit: z.number().int().min(1).max(100).default(20).meta({ description: 'Page size, 1 to 100; default 20.' }),
  })
  .superRefine((value, ctx) => {
    if (value.skip !== undefined && value.cursor !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['cursor', 'skip'], message: 'Provide either cursor or skip, not both' });
    }
  });
export type ReservationListQuery = z.input<typeof ReservationListQuery>;

/** A reservation list query's filters as storage takes them. */
export interface ReservationFilters {
  status?: ReservationStatus;
  productId?: number;
  reference?: string;
}

export const ReservationPage = z
  .object({
    items: z.array(Reservation),
    total: z.number().int().min(0).max(INT32_MAX),
    skip: z.number().int().min(0),
    limit: z.number().int().min(1).max(100),
    next_cursor: z.string().nullable(),
  })
  .meta({ id: 'ReservationPage' });
export type ReservationPage = z.infer<typeof ReservationPage>;

/** One short item of a refused reservation (the 409's `shortages`). */
export const Shortage = z
  .object({ product_id: Id, requested: Units, available: z.number().int().min(0).max(INT32_MAX) })
  .meta({ id: 'Shortage' });
export type Shortage = z.infer<typeof Shortage>;
