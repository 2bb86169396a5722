/**
 * The one place errors become the contract's shape. Database errors become domain codes here (the db
 * package knows nothing of HTTP), zod issues become `issues` with plain field paths, and anything
 * unknown becomes a generic 500 carrying the request id, never a message, stack or SQL from inside.
 */
import { isConnectionError } from '@tradeos/db';
import { TRPCError } from '@trpc/server';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import { z } from 'zod';

export interface Issue {
  path: (string | number)[];
  message: string;
}

export interface ErrorBody {
  code: TRPC_ERROR_CODE_KEY;
  message: string;
  issues?: Issue[];
  request_id?: string;
}

export const HTTP_STATUS: Partial<Record<TRPC_ERROR_CODE_KEY, number>> = {
  BAD_REQUEST: 400,
  PARSE_ERROR: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_SUPPORTED: 405,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNPROCESSABLE_CONTENT: 422,
  TOO_MANY_REQUESTS: 429,
  INTERNAL_SERVER_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
};

const READ_ONLY = new Set(['id', 'in_stock', 'category', 'product_count', 'created_at', 'updated_at']);

/** A validation error with the contract's issues, for checks zod cannot make (a path parameter in a body). */
export class ValidationError extends TRPCError {
  constructor(readonly issues: Issue[]) {
    super({ code: 'UNPROCESSABLE_CONTENT', message: describeIssues(issues) });
  }
}

function describeIssues(issues: Issue[]): string {
  const first = issues[0];
  if (!first) return 'Invalid input';
  const where = first.path.length ? `${first.path.join('.')}: ` : '';
  return `Invalid input: ${where}${first.message}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}`;
}

/** zod issues → `{ path, message }`, unknown keys named in `path`, read-only fields called so. */
export function toIssues(error: z.ZodError): Issue[] {
  return error.issues.flatMap((issue): Issue[] => {
    const path = issue.path.map((part) => (typeof part === 'symbol' ? String(part) : part));
    if (issue.code !== 'unrecognized_keys') return [{ path, message: issue.message }];
    const readOnly = issue.keys.filter((key) => READ_ONLY.has(key));
    const unknown = issue.keys.filter((key) => !READ_ONLY.has(key));
    return [
      ...(readOnly.length ? [{ path: [...path, ...readOnly], message: `read-only field(s): ${readOnly.join(', ')}` }] : []),
      ...(unknown.length ? [{ path: [...path, ...unknown], message: `unknown field(s): ${unknown.join(', ')}` }] : []),
    ];
  });
}

interface PgError {
  code?: string;
  constraint?: string;
  detail?: string;
}

function pgError(error: unknown): PgError | undefined {
  let current = error as { parent?: unknown; original?: unknown; code?: unknown } | undefined;
  for (let depth = 0; current && depth < 4; depth += 1) {
    if (typeof current.code === 'string' && /^[0-9A-Z]{5}$/.test(current.code)) return current as PgError;
    current = (current.parent ?? current.original) as typeof current;
  }
  return undefined;
}

/** Turns whatever a resolver threw into a TRPCError with the contract's code; unknown errors stay 500. */
export function toTRPCError(error: unknown): TRPCError {
  if (error instanceof TRPCError && error.code !== 'INTERNAL_SERVER_ERROR') {
    // tRPC reports failed input parsing as BAD_REQUEST; the contract calls it 422.
    if (error.code === 'BAD_REQUEST' && error.cause instanceof z.ZodError) return new ValidationError(toIssues(error.cause));
    return error;
  }
  const cause = error instanceof TRPCError ? (error.cause ?? error) : error;
  if (isConnectionError(cause)) {
    return new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: 'The database is unavailable; try again shortly', cause });
  }
  const pg = pgError(cause);
  switch (pg?.code) {
    case '23505':
      if (pg.constraint === 'products_sku_key') return new TRPCError({ code: 'CONFLICT', message: 'A product with this sku already exists', cause });
      if (pg.constraint === 'categories_name_lower_key') {
        return new TRPCError({ code: 'CONFLICT', message: 'A category with this name already exists', cause });
      }
      return new TRPCError({ code: 'CONFLICT', message: 'This value must be unique', cause });
    case '23503':
      // A row pointing at a missing category is bad input; a category still pointed at cannot go.
      if (pg.constraint === 'products_category_id_fkey' && /is not present/.test(pg.detail ?? '')) {
        return new ValidationError([{ path: ['category_id'], message: 'no category with this id exists' }]);
      }
      return new TRPCError({ code: 'CONFLICT', message: 'The category still has products', cause });
    case '23001':
      return new TRPCError({ code: 'CONFLICT', message: 'The category still has products', cause });
    case '22003':
      return new ValidationError([{ path: [], message: 'a number is out of range' }]);
    case '57014':
      return new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: 'The database took too long to answer; try again shortly', cause });
    default:
      return new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error', cause });
  }
}

/** The response body for an error already mapped by `toTRPCError`. */
export function toErrorBody(error: TRPCError, requestId: string): ErrorBody {
  if (error.code === 'INTERNAL_SERVER_ERROR') return { code: error.code, message: 'Internal server error', request_id: requestId };
  if (error instanceof ValidationError) return { code: error.code, message: error.message, issues: error.issues };
  return { code: error.code, message: error.message };
}
