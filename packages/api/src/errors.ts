/**
 * The one place errors become the contract's shape. Store failures arrive classified by kind (the db package
 * knows nothing of HTTP), zod issues become `issues` with plain field paths, and anything unknown becomes a
 * generic 500 carrying the request id, never a message, stack or SQL from inside.
 */
import { ERRORS, READ_ONLY_FIELDS, codeForStatus, type ApiError, type ErrorCode, type Issue, type Shortage } from '@tradeos/contract';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { isStoreError, type StoreError } from './store.js';

/** A validation error with the contract's issues, for checks zod cannot make (a path parameter in a body). */
export class ValidationError extends TRPCError {
  constructor(readonly issues: Issue[]) {
    super({ code: 'UNPROCESSABLE_CONTENT', message: describeIssues(issues) });
  }
}

/**
 * The contract's 410 GONE (an events cursor older than the retention window). tRPC has no such code: it travels as
 * NOT_FOUND inside tRPC, and the contract's code and status come from this class.
 */
export class GoneError extends TRPCError {
  constructor(message: string, cause?: unknown) {
    super({ code: 'NOT_FOUND', message, cause });
  }
}

/** Contract v1.3: a reservation short of stock, a 409 whose body also lists every short item. */
export class ShortageError extends TRPCError {
  constructor(
    message: string,
    readonly shortages: Shortage[],
    cause?: unknown,
  ) {
    super({ code: 'CONFLICT', message, cause });
  }
}

/**
 * Contract v1.3: the service is busy (no database connection free in time, or a write that kept colliding): nothing
 * was attempted or everything was rolled back, so a retry is safe; `Retry-After` says when.
 */
export class BusyError extends TRPCError {
  /** Seconds a client should wait before retrying. */
  readonly retryAfter = 1;

  constructor(message: string, cause?: unknown) {
    super({ code: 'SERVICE_UNAVAILABLE', message: `${message}; retry after the seconds in Retry-After`, cause });
  }
}

/** The headers an error's answer carries besides its body: `Retry-After` on a busy 503. */
export function errorHeaders(error: TRPCError): Record<string, string> {
  return error instanceof BusyError ? { 'retry-after': String(error.retryAfter) } : {};
}

function describeIssues(issues: Issue[]): string {
  const first = issues[0];
  if (!first) return 'Invalid input';
  const where = first.path.length ? `${first.path.join('.')}: ` : '';
  return `Invalid input: ${where}${first.message}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}`;
}

/** zod issues → `{ path, message }`, unknown keys named in `path`, read-only fields called so. */
function toIssues(error: z.ZodError): Issue[] {
  return error.issues.flatMap((issue): Issue[] => {
    const path = issue.path.map((part) => (typeof part === 'symbol' ? String(part) : part));
    if (issue.code !== 'unrecognized_keys') return [{ path, message: issue.message }];
    const readOnly = issue.keys.filter((key) => READ_ONLY_FIELDS.has(key));
    const unknown = issue.keys.filter((key) => !READ_ONLY_FIELDS.has(key));
    return [
      ...(readOnly.length ? [{ path: [...path, ...readOnly], message: `read-only field(s): ${readOnly.join(', ')}` }] : []),
      ...(unknown.length ? [{ path: [...path, ...unknown], message: `unknown field(s): ${unknown.join(', ')}` }] : []),
    ];
  });
}

function fromStore(error: StoreError): TRPCError {
  switch (error.kind) {
    case 'unique_violation':
    case 'in_use':
    case 'in_flight':
      return new TRPCError({ code: 'CONFLICT', message: error.message, cause: error });
    case 'version_mismatch':
      return new TRPCError({ code: 'PRECONDITION_FAILED', message: error.message, cause: error });
    case 'missing_reference':
    case 'out_of_range':
    case 'key_reused':
    case 'invalid':
      return new ValidationError([{ path: Array.isArray(error.field) ? error.field : error.field ? [error.field] : [], message: error.message }]);
    case 'timeout':
      return new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: 'The database took too long to answer; try again shortly', cause: error });
    case 'unavailable':
      return new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: ERRORS.SERVICE_UNAVAILABLE.message, cause: error });
    case 'busy':
      return new BusyError(error.message, error);
    case 'gone':
      return new GoneError(error.message, error);
    case 'insufficient':
      return new ShortageError(error.message, error.shortages ?? [], error);
  }
}

/** Turns whatever a resolver threw into a TRPCError with the contract's code; unknown errors stay 500. */
export function toTRPCError(error: unknown): TRPCError {
  if (error instanceof TRPCError && error.code !== 'INTERNAL_SERVER_ERROR') {
    // tRPC reports failed input parsing as BAD_REQUEST; the contract calls it 422.
    if (error.code === 'BAD_REQUEST' && error.cause instanceof z.ZodError) return new ValidationError(toIssues(error.cause));
    return error;
  }
  const cause = error instanceof TRPCError ? (error.cause ?? error) : error;
  if (isStoreError(cause)) return fromStore(cause);
  return new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: ERRORS.INTERNAL_SERVER_ERROR.message, cause });
}

/** The contract's name for a tRPC error code: tRPC's own codes outside the table (PARSE_ERROR…) go by their status. */
function contractCode(error: TRPCError): ErrorCode {
  if (error instanceof GoneError) return 'GONE';
  return Object.hasOwn(ERRORS, error.code) ? (error.code as ErrorCode) : codeForStatus(getHTTPStatusCodeFromError(error));
}

/** The response body for an error already mapped by `toTRPCError`. */
export function toErrorBody(error: TRPCError, requestId: string): ApiError {
  const code = contractCode(error);
  if (code === 'INTERNAL_SERVER_ERROR') return { code, message: ERRORS.INTERNAL_SERVER_ERROR.message, request_id: requestId };
  if (error instanceof ValidationError) return { code, message: error.message, issues: error.issues };
  if (error instanceof ShortageError) return { code, message: error.message, shortages: error.shortages };
  return { code, message: error.message };
}

/** The HTTP status of an error already mapped by `toTRPCError`. */
export const statusOf = (error: TRPCError): number => ERRORS[contractCode(error)].status;
