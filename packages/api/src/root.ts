import { hasPendingMigrations } from '@tradeos/db';
import { z } from 'zod';
import { categoryRouter } from './routers/category.js';
import { productRouter } from './routers/product.js';
import { createCallerFactory, publicProcedure, router } from './trpc.js';

const HealthStatus = z
  .object({
    status: z.enum(['ok', 'error']),
    database: z.enum(['connected', 'disconnected']),
    // Present only when the database is behind this build's migrations: drift an operator must see.
    migrations: z.literal('pending').optional(),
  })
  .meta({ id: 'Health' });

export const appRouter = router({
  health: publicProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/health',
        tags: ['health'],
        summary: 'Service and database health',
        description:
          '200 when `SELECT 1` succeeds (with `"migrations":"pending"` when migrations are pending), 503 `{"status":"error","database":"disconnected"}` when it does not; within 2 s.',
        errorResponses: { 503: 'The database is unreachable' },
      },
    })
    .input(z.strictObject({}))
    .output(HealthStatus)
    .query(async ({ ctx }) => {
      const [connected, pending] = await Promise.all([ctx.db.ping(2_000), hasPendingMigrations(ctx.db, 2_000)]);
      if (!connected) return { status: 'error' as const, database: 'disconnected' as const };
      return { status: 'ok' as const, database: 'connected' as const, ...(pending && { migrations: 'pending' as const }) };
    }),
  products: productRouter,
  categories: categoryRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
