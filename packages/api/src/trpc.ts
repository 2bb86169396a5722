/**
 * tRPC initialisation, in three parts: the one `initTRPC` call with the error formatter, the base procedure
 * whose middleware maps every error to the contract, and `procedure(operation)`, which gives a procedure the
 * input and output schemas of its operation in the contract.
 */
import type { Operation } from '@tradeos/contract';
import { initTRPC } from '@trpc/server';
import type { z } from 'zod';
import type { Context } from './context.js';
import { statusOf, toErrorBody, toTRPCError } from './errors.js';

// Initialisation: error shapes carry the contract's body under `data`, and never a stack.
const t = initTRPC.context<Context>().create({
  // Subscriptions travel as Server-Sent Events: a ping keeps proxies from closing an idle stream.
  sse: { ping: { enabled: true, intervalMs: 15_000 }, client: { reconnectAfterInactivityMs: 30_000 } },
  errorFormatter({ shape, error, ctx }) {
    const body = toErrorBody(error, ctx?.requestId ?? '');
    return { message: body.message, code: shape.code, data: { ...body, httpStatus: statusOf(error) } };
  },
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

// Procedures: every resolver runs inside the error mapping; unknown failures are logged once, here.
const publicProcedure = t.procedure.use(async ({ ctx, next, path }) => {
  const result = await next();
  if (result.ok) return result;
  const error = toTRPCError(result.error);
  if (error.code === 'INTERNAL_SERVER_ERROR') ctx.log.error({ err: error.cause ?? error, path, request_id: ctx.requestId }, 'unhandled error');
  throw error;
});

/** A streamed operation's subscription: its input (tRPC adds `lastEventId` on a reconnect); each message is one `output`. */
export function subscription<I extends z.ZodType>(input: I) {
  return publicProcedure.input(input);
}

/** The procedure for one of the contract's operations: its input and output schemas, nothing else to restate. */
export function procedure<I extends z.ZodType, O extends z.ZodType>(operation: Operation<I, O>) {
  return publicProcedure.input(operation.input).output(operation.output);
}
