import { z } from 'zod';
import { categoryRouter } from './routers/category.js';
import { productRouter } from './routers/product.js';
import { createCallerFactory, publicProcedure, router } from './trpc.js';

const HealthStatus = z
  .object({ status: z.enum(['ok', 'error']), database: z.enum(['connected', 'disconnected']) })
  .meta({ id: 'Health' });

export const appRouter = router({
  health: publicProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/health',
        tags: ['health'],
        summary: 'Service and database health',
        description: '200 when `SELECT 1` succeeds, 503 `{"status":"error","database":"disconnected"}` when it does not; within 2 s.',
        errorResponses: { 503: 'The database is unreachable' },
      },
    })
    .input(z.strictObject({}))
    .output(HealthStatus)
    .query(async ({ ctx }) =>
      (await ctx.db.ping(2_000)) ? { status: 'ok' as const, database: 'connected' as const } : { status: 'error' as const, database: 'disconnected' as const },
    ),
  products: productRouter,
  categories: categoryRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
