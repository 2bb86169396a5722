import {
  createProduct,
  deleteProduct,
  getProductById,
  getProductsByCategory,
  getProductsWithFilters,
  searchProducts,
  updateProduct,
  updateProductQuantity,
  type PageOptions,
  type ProductFilters,
  type ProductPage as Page,
  type ProductRow,
} from '@tradeos/db';
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { IdInput } from '../schemas/common.js';
import {
  Product,
  ProductByCategoryQuery,
  ProductCreate,
  ProductListQuery,
  ProductPage,
  ProductQuantityChange,
  ProductSearchQuery,
  ProductUpdate,
} from '../schemas/product.js';
import { publicProcedure, router } from '../trpc.js';

/** The one place a database row becomes the contract's Product. */
function toProduct(row: ProductRow): Product {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    price: Number(row.price),
    quantity: row.quantity,
    in_stock: row.quantity > 0,
    sku: row.sku,
    category_id: row.category_id,
    category: row.category_id === null || row.category_name === null ? null : { id: row.category_id, name: row.category_name },
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

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
    page: { skip: input.skip, limit: input.limit, sortBy: input.sort_by, order: input.order },
  };
}

function toPage(result: Page, page: PageOptions): ProductPage {
  return { items: result.rows.map(toProduct), total: result.total, skip: page.skip, limit: page.limit };
}

const notFound = (id: number) => new TRPCError({ code: 'NOT_FOUND', message: `Product ${id} not found` });

export const productRouter = router({
  list: publicProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/products',
        tags: ['products'],
        summary: 'List products',
        description: 'Filters combine with AND; `total` counts every match. Ordered by `sort_by` (default `created_at`) then id.',
        errorResponses: { 422: 'Invalid query parameter' },
      },
    })
    .input(ProductListQuery)
    .output(ProductPage)
    .query(async ({ ctx, input }) => {
      const { filters, page } = split(input);
      return toPage(await getProductsWithFilters(ctx.db, filters, page), page);
    }),

  search: publicProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/products/search',
        tags: ['products'],
        summary: 'Search products by name',
        description: 'Case-insensitive substring match; `%`, `_` and `\\` match themselves. Without `sort_by`: exact name, then prefix, then the rest, ties by name.',
        errorResponses: { 422: 'Invalid query parameter' },
      },
    })
    .input(ProductSearchQuery)
    .output(ProductPage)
    .query(async ({ ctx, input }) => {
      const { filters, page } = split(input);
      return toPage(await searchProducts(ctx.db, input.q, { ...filters, q: undefined }, page), page);
    }),

  byCategory: publicProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/products/category/{category}',
        tags: ['products'],
        summary: 'List the products of a category, by category name',
        errorResponses: { 404: 'No category with this name', 422: 'Invalid parameter' },
      },
    })
    .input(ProductByCategoryQuery)
    .output(ProductPage)
    .query(async ({ ctx, input }) => {
      const { filters, page } = split({ ...input, category: undefined });
      const result = await getProductsByCategory(ctx.db, input.category, filters, page);
      if (!result) throw new TRPCError({ code: 'NOT_FOUND', message: `Category "${input.category}" not found` });
      return toPage(result, page);
    }),

  byId: publicProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/products/{id}',
        tags: ['products'],
        summary: 'Get a product',
        errorResponses: { 404: 'No such product', 422: 'Invalid id' },
      },
    })
    .input(IdInput)
    .output(Product)
    .query(async ({ ctx, input }) => {
      const row = await getProductById(ctx.db, input.id);
      if (!row) throw notFound(input.id);
      return toProduct(row);
    }),

  create: publicProcedure
    .meta({
      successStatus: 201,
      openapi: {
        method: 'POST',
        path: '/products',
        tags: ['products'],
        summary: 'Create a product',
        successDescription: 'Created; `Location` names the new product',
        errorResponses: { 409: 'Duplicate sku', 422: 'Invalid body or unknown category_id' },
      },
    })
    .input(ProductCreate)
    .output(Product)
    .mutation(async ({ ctx, input }) => toProduct(await createProduct(ctx.db, input))),

  update: publicProcedure
    .meta({
      openapi: {
        method: 'PUT',
        path: '/products/{id}',
        tags: ['products'],
        summary: 'Update the given fields of a product',
        errorResponses: { 404: 'No such product', 409: 'Duplicate sku', 422: 'Invalid body, empty update or unknown category_id' },
      },
    })
    .input(ProductUpdate)
    .output(Product)
    .mutation(async ({ ctx, input: { id, ...patch } }) => {
      const row = await updateProduct(ctx.db, id, patch);
      if (!row) throw notFound(id);
      return toProduct(row);
    }),

  adjustQuantity: publicProcedure
    .meta({
      openapi: {
        method: 'PATCH',
        path: '/products/{id}/quantity',
        tags: ['products'],
        summary: 'Change the stock atomically',
        description: 'Exactly one of `delta` (added, may be negative) or `quantity` (set). Never goes below 0: that is a 409 and changes nothing.',
        errorResponses: { 404: 'No such product', 409: 'Stock would go below 0', 422: 'Invalid body' },
      },
    })
    .input(ProductQuantityChange)
    .output(Product)
    .mutation(async ({ ctx, input: { id, ...change } }) => {
      const result = await updateProductQuantity(ctx.db, id, change.delta !== undefined ? { delta: change.delta } : { quantity: change.quantity ?? 0 });
      if (result.status === 'not_found') throw notFound(id);
      if (result.status === 'insufficient') {
        throw new TRPCError({ code: 'CONFLICT', message: `Product ${id} has ${result.quantity} in stock; the change would take it below 0` });
      }
      return toProduct(result.row);
    }),

  delete: publicProcedure
    .meta({
      successStatus: 204,
      openapi: {
        method: 'DELETE',
        path: '/products/{id}',
        tags: ['products'],
        summary: 'Delete a product',
        successDescription: 'Deleted (no body)',
        errorResponses: { 404: 'No such product', 422: 'Invalid id' },
      },
    })
    .input(IdInput)
    .output(z.undefined())
    .mutation(async ({ ctx, input }) => {
      if (!(await deleteProduct(ctx.db, input.id))) throw notFound(input.id);
    }),
});

