import { operations } from '@tradeos/contract';
import { categoryRouter } from './routers/category.js';
import { productRouter } from './routers/product.js';
import { createCallerFactory, procedure, router } from './trpc.js';

export const appRouter = router({
  health: procedure(operations.health).query(async ({ ctx }) =>
    (await ctx.store.ping(2_000)) ? { status: 'ok' as const, database: 'connected' as const } : { status: 'error' as const, database: 'disconnected' as const },
  ),
  products: productRouter,
  categories: categoryRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
