import { operations } from '@tradeos/contract';
import { TRPCError } from '@trpc/server';
import { keyed } from '../idempotency.js';
import type { ReservationOutcome } from '../store.js';
import { procedure, router } from '../trpc.js';

const notFound = (id: string) => new TRPCError({ code: 'NOT_FOUND', message: `Reservation ${id} not found` });

const found = (id: string, outcome: ReservationOutcome) => {
  if (outcome.status === 'not_found') throw notFound(id);
  return outcome.reservation;
};

/** Contract v1.3: stock reservations. */
export const reservationRouter = router({
  create: procedure(operations['reservations.create']).mutation(({ ctx, input }) =>
    keyed(ctx, 'reservations.create', operations['reservations.create'], input, (writes) => writes.reservations.create(input, ctx.signal)),
  ),

  list: procedure(operations['reservations.list']).query(async ({ ctx, input }) => {
    const page = { skip: input.skip ?? 0, limit: input.limit, cursor: input.cursor };
    const filters = { status: input.status, productId: input.product_id, reference: input.reference };
    const { items, total, nextCursor } = await ctx.store.reservations.list(filters, page, ctx.signal);
    return { items, total, skip: page.skip, limit: page.limit, next_cursor: nextCursor };
  }),

  byId: procedure(operations['reservations.byId']).query(async ({ ctx, input }) => {
    const reservation = await ctx.store.reservations.byId(input.id, ctx.signal);
    if (!reservation) throw notFound(input.id);
    return reservation;
  }),

  commit: procedure(operations['reservations.commit']).mutation(async ({ ctx, input }) =>
    found(input.id, await ctx.store.reservations.commit(input.id, ctx.signal, input.expected_version)),
  ),

  release: procedure(operations['reservations.release']).mutation(async ({ ctx, input }) =>
    found(input.id, await ctx.store.reservations.release(input.id, ctx.signal, input.expected_version)),
  ),
});
