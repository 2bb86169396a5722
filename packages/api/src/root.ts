import { operations } from '@tradeos/contract';
import { categoryRouter } from './routers/category.js';
import { eventRouter } from './routers/event.js';
import { productRouter } from './routers/product.js';
import { reservationRouter } from './routers/reservation.js';
import { createCallerFactory, procedure, router } from './trpc.js';

export const appRouter = router({
  health: procedure(operations.health).query(async ({ ctx }) => {
    const [connected, pending] = await Promise.all([ctx.store.ping(2_000), ctx.store.migrationsPending(2_000)]);
    if (!connected) return { status: 'error' as const, database: 'disconnected' as const };
    return { status: 'ok' as const, database: 'connected' as const, ...(pending && { migrations: 'pending' as const }) };
  }),
  products: productRouter,
  categories: categoryRouter,
  reservations: reservationRouter,
  events: eventRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
