/**
 * Typed errors: every failed call rejects with an error whose `data` carries the contract's error body
 * (`code`, `message`, `issues` on 422, `request_id` on 500) plus `httpStatus`, also for errors the server
 * answers before tRPC runs (the link below); `errorCode` and `isCatalogError` read it.
 */
import type { AppRouter } from '@tradeos/api';
import type { ApiError, ErrorCode } from '@tradeos/contract';
import { isTRPCClientError, TRPCClientError, type TRPCLink } from '@trpc/client';
import { observable } from '@trpc/server/observable';
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';

/** The server's error body as the client sees it: `{ code, message, issues?, request_id?, shortages?, httpStatus }`. */
export type CatalogErrorData = ApiError & { httpStatus: number };

/** A contract error code: 'NOT_FOUND', 'CONFLICT', 'UNPROCESSABLE_CONTENT', … */
export type CatalogErrorCode = ErrorCode;

/** What every failed call rejects with (at run time, tRPC's `TRPCClientError`). */
export interface CatalogClientError extends Error {
  /** The contract's error body when the server answered it; absent on a network failure (see `cause`). */
  readonly data: CatalogErrorData | null | undefined;
  readonly cause: unknown;
}

/** The contract code of an error the server sent, or undefined (a network failure, a proxy's HTML page, not an SDK error). */
export function errorCode(error: unknown): CatalogErrorCode | undefined {
  return isCatalogError(error) ? (error.data?.code ?? undefined) : undefined;
}

/** True for any error a catalog call throws; with `code`, only for a server error of that code, whose `data` is then present. */
export function isCatalogError(error: unknown): error is CatalogClientError;
export function isCatalogError<C extends CatalogErrorCode>(error: unknown, code: C): error is CatalogClientError & { data: CatalogErrorData & { code: C } };
export function isCatalogError(error: unknown, code?: CatalogErrorCode): boolean {
  return isTRPCClientError(error) && (code === undefined || (error.data as CatalogErrorData | undefined)?.code === code);
}

/**
 * Gives errors the server answers before tRPC runs (401/403 write protection, 413, 415, 429) the same `data`
 * as tRPC's own: their body is the contract's plain `{ code, message }`, which tRPC alone reports as unreadable.
 */
export const contractErrorLink: TRPCLink<AppRouter> =
  () =>
  ({ op, next }) =>
    observable((observer) =>
      next(op).subscribe({
        next: (result) => observer.next(result),
        error: (error) => observer.error(withContractData(error)),
        complete: () => observer.complete(),
      }),
    );

function withContractData(error: TRPCClientError<AppRouter>): TRPCClientError<AppRouter> {
  const body = error.meta?.responseJSON;
  const status = (error.meta?.response as { status?: unknown } | undefined)?.status;
  if (error.data || !isContractBody(body) || typeof status !== 'number') return error;
  return new TRPCClientError<AppRouter>(body.message, {
    result: { error: { message: body.message, code: TRPC_ERROR_CODES_BY_KEY[body.code], data: { ...body, httpStatus: status } } },
    cause: error,
    meta: error.meta,
  });
}

function isContractBody(body: unknown): body is ApiError & { code: keyof typeof TRPC_ERROR_CODES_BY_KEY } {
  if (typeof body !== 'object' || body === null) return false;
  const { code, message } = body as Record<string, unknown>;
  return typeof code === 'string' && Object.hasOwn(TRPC_ERROR_CODES_BY_KEY, code) && typeof message === 'string';
}
