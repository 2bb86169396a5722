import { operations, type ProductListQuery, type ProductPage } from '@tradeos/contract';
import { TRPCError } from '@trpc/server';
import type { z } from 'zod';
import { keyed } from '../idempotency.js';
import type { Page, PageOptions, ProductFilters } from '../store.js';
import { procedure, router } from '../trpc.js';

type ListInput = z.output<typeof ProductListQuery>;

function split(input: Omit<ListInput, 'category'> & { category?: string }): { filters: ProductFilters; page: PageOptions } {
  return {
    filters: {
      categoryId: input.category_id,
      category: input.category,
      minPrice: input.min_price,
      maxPrice: input.max_price,
      inStock: input.in_stock,
      q: input.q,
    },
    page: { skip: input.skip ?? 0, cursor: input.cursor, limit: input.limit, sortBy: input.sort_by, order: input.order, count: input.count },
  };
}

// The envelope says whether its total is an estimate whenever the caller chose how to count, and always for a words search.
const toPage = ({ items, total, estimated = false, nextCursor }: Page<ProductPage['items'][number]>, page: PageOptions): ProductPage => ({
  items,
  total,
  ...(page.count === undefined && page.match !== 'words' ? {} : { total_is_estimate: estimated }),
  skip: page.skip,
  limit: page.limit,
  next_cursor: nextCursor,
});

const notFound = (id: number) => new TRPCError({ code: 'NOT_FOUND', message: `Product ${id} not found` });

export const productRouter = router({
  list: procedure(operations['products.list']).query(async ({ ctx, input }) => {
    const { filters, page } = split(input);
    return toPage(await ctx.store.products.list(filters, page, ctx.signal), page);
  }),

  search: procedure(operations['products.search']).query(async ({ ctx, input }) => {
    const { filters, page } = split(input);
    const searched = { ...page, match: input.match };
    return toPage(await ctx.store.products.search(input.q, { ...filters, q: undefined }, searched, ctx.signal), searched);
  }),

  byCategory: procedure(operations['products.byCategory']).query(async ({ ctx, input }) => {
    const { filters, page } = split({ ...input, category: undefined });
    const result = await ctx.store.products.byCategory(input.category, filters, page, ctx.signal);
    if (!result) throw new TRPCError({ code: 'NOT_FOUND', message: `Category "${input.category}" not found` });
    return toPage(result, page);
  }),

  byId: procedure(operations['products.byId']).query(async ({ ctx, input }) => {
    const product = await ctx.store.products.byId(input.id, ctx.signal);
    if (!product) throw notFound(input.id);
    return product;
  }),

  create: procedure(operations['products.create']).mutation(({ ctx, input }) =>
    keyed(
      ctx,
      'products.create',
      operations['products.create'],
      input,
      () => ctx.store.products.create(input, ctx.signal),
      (request, response) => ctx.store.products.createOnce(request, input, response, ctx.signal),
    ),
  ),

  upsertMany: procedure(operations['products.upsertMany']).mutation(({ ctx, input }) =>
    keyed(ctx, 'products.upsertMany', operations['products.upsertMany'], input, async (writes) => {
      const items = await writes.products.upsertMany(input.items, ctx.signal);
      const count = (status: string) => items.filter((item) => item.status === status).length;
      return { created: count('created'), updated: count('updated'), unchanged: count('unchanged'), items };
    }),
  ),

  update: procedure(operations['products.update']).mutation(async ({ ctx, input: { id, expected_version, ...patch } }) => {
    const product = await ctx.store.products.update(id, patch, ctx.signal, expected_version);
    if (!product) throw notFound(id);
    return product;
  }),

  adjustQuantity: procedure(operations['products.adjustQuantity']).mutation(async ({ ctx, input: { id, expected_version, ...change } }) => {
    const result = await ctx.store.products.changeQuantity(
      id,
      change.delta !== undefined ? { delta: change.delta } : { quantity: change.quantity ?? 0 },
      ctx.signal,
      expected_version,
    );
    if (result.status === 'not_found') throw notFound(id);
    if (result.status === 'insufficient') {
      throw new TRPCError({ code: 'CONFLICT', message: `Product ${id} has ${result.quantity} in stock; the change would take it below 0` });
    }
    return result.product;
  }),

  delete: procedure(operations['products.delete']).mutation(async ({ ctx, input }) => {
    if (!(await ctx.store.products.delete(input.id, ctx.signal, input.expected_version))) throw notFound(input.id);
  }),
});
