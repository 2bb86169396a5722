/**
 * tRPC initialisation, in three parts: the meta every procedure carries, the one `initTRPC` call with
 * the error formatter, and the base procedure whose middleware maps every error to the contract.
 */
import { initTRPC } from '@trpc/server';
import type { OpenApiMeta } from 'trpc-to-openapi';
import type { Context } from './context.js';
import { HTTP_STATUS, toErrorBody, toTRPCError } from './errors.js';

// Meta: OpenAPI routing, plus the REST success status where it is not 200 (201 also sends Location).
export type Meta = OpenApiMeta<{ successStatus?: 201 | 204 }>;

// Initialisation: error shapes carry the contract's body under `data`, and never a stack.
const t = initTRPC
  .context<Context>()
  .meta<Meta>()
  .create({
    errorFormatter({ shape, error, ctx }) {
      const body = toErrorBody(error, ctx?.requestId ?? '');
      return {
        message: body.message,
        code: shape.code,
        data: { ...body, httpStatus: HTTP_STATUS[error.code] ?? 500 },
      };
    },
  });

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

// Procedures: every resolver runs inside the error mapping; unknown failures are logged once, here.
export const publicProcedure = t.procedure.use(async ({ ctx, next, path }) => {
  const result = await next();
  if (result.ok) return result;
  const error = toTRPCError(result.error);
  if (error.code === 'INTERNAL_SERVER_ERROR') ctx.log.error({ err: error.cause ?? error, path, request_id: ctx.requestId }, 'unhandled error');
  throw error;
});
