import { createCategory, deleteCategory, getCategoryById, listCategories, updateCategory, type CategoryRow } from '@tradeos/db';
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { Category, CategoryCreate, CategoryList, CategoryUpdate } from '../schemas/category.js';
import { IdInput } from '../schemas/common.js';
import { publicProcedure, router } from '../trpc.js';

/** The one place a database row becomes the contract's Category. */
function toCategory(row: CategoryRow): Category {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    product_count: row.product_count,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

const notFound = (id: number) => new TRPCError({ code: 'NOT_FOUND', message: `Category ${id} not found` });

export const categoryRouter = router({
  list: publicProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/categories',
        tags: ['categories'],
        summary: 'List every category, by name ignoring letter case',
        errorResponses: { 422: 'Unknown query parameter' },
      },
    })
    .input(z.strictObject({}))
    .output(CategoryList)
    .query(async ({ ctx }) => (await listCategories(ctx.db)).map(toCategory)),

  byId: publicProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/categories/{id}',
        tags: ['categories'],
        summary: 'Get a category',
        errorResponses: { 404: 'No such category', 422: 'Invalid id' },
      },
    })
    .input(IdInput)
    .output(Category)
    .query(async ({ ctx, input }) => {
      const row = await getCategoryById(ctx.db, input.id);
      if (!row) throw notFound(input.id);
      return toCategory(row);
    }),

  create: publicProcedure
    .meta({
      successStatus: 201,
      openapi: {
        method: 'POST',
        path: '/categories',
        tags: ['categories'],
        summary: 'Create a category',
        successDescription: 'Created; `Location` names the new category',
        errorResponses: { 409: 'Name taken (any letter case)', 422: 'Invalid body' },
      },
    })
    .input(CategoryCreate)
    .output(Category)
    .mutation(async ({ ctx, input }) => toCategory(await createCategory(ctx.db, input))),

  update: publicProcedure
    .meta({
      openapi: {
        method: 'PUT',
        path: '/categories/{id}',
        tags: ['categories'],
        summary: 'Update the given fields of a category',
        errorResponses: { 404: 'No such category', 409: 'Name taken (any letter case)', 422: 'Invalid body or empty update' },
      },
    })
    .input(CategoryUpdate)
    .output(Category)
    .mutation(async ({ ctx, input: { id, ...patch } }) => {
      const row = await updateCategory(ctx.db, id, patch);
      if (!row) throw notFound(id);
      return toCategory(row);
    }),

  delete: publicProcedure
    .meta({
      successStatus: 204,
      openapi: {
        method: 'DELETE',
        path: '/categories/{id}',
        tags: ['categories'],
        summary: 'Delete a category that no product references',
        successDescription: 'Deleted (no body)',
        errorResponses: { 404: 'No such category', 409: 'Products still reference it', 422: 'Invalid id' },
      },
    })
    .input(IdInput)
    .output(z.undefined())
    .mutation(async ({ ctx, input }) => {
      if (!(await deleteCategory(ctx.db, input.id))) throw notFound(input.id);
    }),
});
