import { operations } from '@tradeos/contract';
import { categoryRouter } from './routers/category.js';
import { eventRouter } from './routers/event.js';
import { productRouter } from './routers/product.js';
import { reservationRouter } from './routers/reservation.js';
import { createCallerFactory, procedure, router } from './trpc.js';

export const appRouter = router({
  health: procedure(operations.health).query(async ({ ctx }) => {
    const [connected, pending] = await Promise.all([ctx.store.ping(2_000), ctx.store.migrationsPending(2_000)]);
    const states = ctx.store.replicas();
    const replicas = states.length ? { replicas: { healthy: states.filter(({ state }) => state === 'healthy').length, total: states.length } } : {};
    if (!connected) return { status: 'error' as const, database: 'disconnected' as const, ...replicas };
    return { status: 'ok' as const, database: 'connected' as const, ...(pending && { migrations: 'pending' as const }), ...replicas };
  }),
  products: productRouter,
  categories: categoryRouter,
  reservations: reservationRouter,
  events: eventRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
