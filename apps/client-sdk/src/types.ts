/**
 * Types derived from the server's router, so users never restate them: every procedure's input and
 * output by path (`RouterOutputs['products']['byId']`), and the REST error body.
 */
import type { AppRouter, ErrorBody } from '@tradeos/api';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';

export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;

/** The JSON body of every REST error: `{ code, message, issues?, request_id? }`. */
export type ApiError = ErrorBody;
