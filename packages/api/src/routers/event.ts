import { EventId, EventStreamQuery, operations, parseEventTypes } from '@tradeos/contract';
import { tracked } from '@trpc/server';
import { toTRPCError } from '../errors.js';
import { procedure, router, subscription } from '../trpc.js';

export const eventRouter = router({
  // A long poll: an empty page waits (up to `wait` seconds) for the feed to move past it. The events that woke it
  // come from memory (1 000 polls woken at once cost no connection); only when the store has none does it read again.
  list: procedure(operations['events.list']).query(async ({ ctx, input }) => {
    const query = { after: input.after, types: parseEventTypes(input.types), limit: input.limit };
    let page = await ctx.store.events.page(query, ctx.signal);
    // A closing server stops the wait, not the reads: the poll answers with what it has.
    const stops = AbortSignal.any([ctx.signal, ctx.closing].filter((given) => given !== undefined));
    if (!page.items.length && input.wait > 0 && !stops.aborted) {
      const woke = await ctx.store.events.wait(page.horizon, { ...query, after: page.nextAfter }, input.wait * 1_000, stops);
      const items = woke?.slice(0, input.limit);
      if (items?.length) return { items, next_after: items.at(-1)!.id };
      if (!ctx.signal?.aborted) page = await ctx.store.events.page(query, ctx.signal);
    }
    return { items: page.items, next_after: page.nextAfter };
  }),

  // Each event tracked by its id: the SSE `id:` line, sent back as `lastEventId` when the client reconnects.
  onChange: subscription(EventStreamQuery.extend({ lastEventId: EventId.optional() })).subscription(async function* ({ ctx, input, signal }) {
    const query = { after: input.lastEventId ?? input.after, types: parseEventTypes(input.types) };
    // Ends when the client leaves (tRPC's signal or the context's) or the server closes.
    const ends = AbortSignal.any([signal, ctx.signal, ctx.closing].filter((given) => given !== undefined));
    try {
      for await (const event of ctx.store.events.follow(query, ends)) yield tracked(event.id, event);
    } catch (error) {
      // A read the ending cut short is no failure: the subscription simply ends.
      if (ends.aborted) return;
      throw toTRPCError(error);
    }
  }),
});
