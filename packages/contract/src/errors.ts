/**
 * The contract's error table: every code the service answers with, its HTTP status and its default message.
 * The router, the REST adapter, write protection, the framework's error handler and the OpenAPI document all read it.
 */
import { z } from 'zod';
import { Shortage } from './reservation.js';

export const ERRORS = {
  BAD_REQUEST: { status: 400, message: 'The request body is not valid JSON' },
  UNAUTHORIZED: { status: 401, message: 'This write needs an API key: Authorization: Bearer <key>' },
  FORBIDDEN: { status: 403, message: 'This API key is not accepted' },
  NOT_FOUND: { status: 404, message: 'Not found' },
  METHOD_NOT_SUPPORTED: { status: 405, message: 'This method is not allowed on this path' },
  TIMEOUT: { status: 408, message: 'The request was not received in time' },
  CONFLICT: { status: 409, message: 'The request conflicts with the current data' },
  PRECONDITION_FAILED: { status: 412, message: 'The resource has changed: its version does not match If-Match / expected_version' },
  GONE: { status: 410, message: 'The events after this cursor are no longer kept; resync and follow from the newest event' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body exceeds 1 MiB' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'The request body must be application/json' },
  UNPROCESSABLE_CONTENT: { status: 422, message: 'Invalid input' },
  TOO_MANY_REQUESTS: { status: 429, message: 'Too many requests; retry after the number of seconds in Retry-After' },
  REQUEST_HEADER_FIELDS_TOO_LARGE: { status: 431, message: 'The request headers exceed 16 KiB' },
  INTERNAL_SERVER_ERROR: { status: 500, message: 'Internal server error' },
  SERVICE_UNAVAILABLE: { status: 503, message: 'The database is unavailable; try again shortly' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;
export const ERROR_CODES = Object.keys(ERRORS) as [ErrorCode, ...ErrorCode[]];

/** The code the contract uses for an HTTP status (the first in the table), or INTERNAL_SERVER_ERROR. */
export function codeForStatus(status: number): ErrorCode {
  return ERROR_CODES.find((code) => ERRORS[code].status === status) ?? 'INTERNAL_SERVER_ERROR';
}

export const Issue = z
  .object({
    path: z.array(z.union([z.string(), z.number().int()])).meta({ description: 'The field, by its plain name; `[]` for the body as a whole' }),
    message: z.string(),
  })
  .meta({ id: 'Issue' });
export type Issue = z.infer<typeof Issue>;

export const ApiError = z
  .object({
    code: z.enum(ERROR_CODES).meta({ example: 'NOT_FOUND' }),
    message: z.string().meta({ example: 'Product 42 not found' }),
    issues: z.array(Issue).optional().meta({ description: 'On 422: each bad field' }),
    request_id: z.string().optional().meta({ description: 'On 500: the X-Request-Id to quote' }),
    shortages: z.array(Shortage).optional().meta({ description: 'On the 409 of a reservation that finds too little stock: every short item' }),
  })
  .meta({ id: 'ErrorBody', description: 'Every error response. `issues` on 422, `request_id` on 500, `shortages` on a short reservation\'s 409.' });
export type ApiError = z.infer<typeof ApiError>;
