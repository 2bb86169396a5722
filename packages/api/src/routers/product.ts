import { operations, type ProductListQuery, type ProductPage } from '@tradeos/contract';
import { TRPCError } from '@trpc/server';
import type { z } from 'zod';
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
    page: { skip: input.skip, limit: input.limit, sortBy: input.sort_by, order: input.order, count: input.count },
  };
}

// The envelope says whether its total is an estimate whenever the caller chose how to count.
const toPage = ({ items, total, estimated = false }: Page<ProductPage['items'][number]>, page: PageOptions): ProductPage => ({
  items,
  total,
  ...(page.count === undefined ? {} : { total_is_estimate: estimated }),
  skip: page.skip,
  limit: page.limit,
});

const notFound = (id: number) => new TRPCError({ code: 'NOT_FOUND', message: `Product ${id} not found` });

export const productRouter = router({
  list: procedure(operations['products.list']).query(async ({ ctx, input }) => {
    const { filters, page } = split(input);
    return toPage(await ctx.store.products.list(filters, page, ctx.signal), page);
  }),

  search: procedure(operations['products.search']).query(async ({ ctx, input }) => {
    const { filters, page } = split(input);
    return toPage(await ctx.store.products.search(input.q, { ...filters, q: undefined }, page, ctx.signal), page);
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

  create: procedure(operations['products.create']).mutation(({ ctx, input }) => ctx.store.products.create(input, ctx.signal)),

  update: procedure(operations['products.update']).mutation(async ({ ctx, input: { id, ...patch } }) => {
    const product = await ctx.store.products.update(id, patch, ctx.signal);
    if (!product) throw notFound(id);
    return product;
  }),

  adjustQuantity: procedure(operations['products.adjustQuantity']).mutation(async ({ ctx, input: { id, ...change } }) => {
    const result = await ctx.store.products.changeQuantity(id, change.delta !== undefined ? { delta: change.delta } : { quantity: change.quantity ?? 0 }, ctx.signal);
    if (result.status === 'not_found') throw notFound(id);
    if (result.status === 'insufficient') {
      throw new TRPCError({ code: 'CONFLICT', message: `Product ${id} has ${result.quantity} in stock; the change would take it below 0` });
    }
    return result.product;
  }),

  delete: procedure(operations['products.delete']).mutation(async ({ ctx, input }) => {
    if (!(await ctx.store.products.delete(input.id, ctx.signal))) throw notFound(input.id);
  }),
});
