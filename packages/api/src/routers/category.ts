import { operations } from '@tradeos/contract';
import { TRPCError } from '@trpc/server';
import { keyed } from '../idempotency.js';
import { procedure, router } from '../trpc.js';

const notFound = (id: number) => new TRPCError({ code: 'NOT_FOUND', message: `Category ${id} not found` });

export const categoryRouter = router({
  list: procedure(operations['categories.list']).query(({ ctx }) => ctx.store.categories.list(ctx.signal)),

  byId: procedure(operations['categories.byId']).query(async ({ ctx, input }) => {
    const category = await ctx.store.categories.byId(input.id, ctx.signal);
    if (!category) throw notFound(input.id);
    return category;
  }),

  create: procedure(operations['categories.create']).mutation(({ ctx, input }) =>
    keyed(ctx, 'categories.create', operations['categories.create'], input, (writes) => writes.categories.create(input, ctx.signal)),
  ),

  update: procedure(operations['categories.update']).mutation(async ({ ctx, input: { id, expected_version, ...patch } }) => {
    const category = await ctx.store.categories.update(id, patch, ctx.signal, expected_version);
    if (!category) throw notFound(id);
    return category;
  }),

  delete: procedure(operations['categories.delete']).mutation(async ({ ctx, input }) => {
    if (!(await ctx.store.categories.delete(input.id, ctx.signal, input.expected_version))) throw notFound(input.id);
  }),
});
