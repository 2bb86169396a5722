/** Field rules shared by every resource: lengths in code points (as PostgreSQL counts), no NUL, 32-bit ids. */
import { z } from 'zod';

export const INT32_MAX = 2_147_483_647;

const codePoints = (text: string) => [...text].length;
const noNul = (text: string) => !text.includes('\u0000');

/** Free text up to `max` characters (code points: an emoji is one), in Unicode NFC; PostgreSQL cannot store NUL. */
export function text(max: number) {
  return z
    .string()
    .normalize('NFC')
    .refine(noNul, 'must not contain NUL characters')
    .refine((value) => codePoints(value) <= max, `must be at most ${max} characters`)
    .meta({ maxLength: max });
}

/**
 * A trimmed, non-empty name of at most `max` characters, in Unicode NFC: `й` sent as `и` + U+0306 is stored,
 * compared and searched as the one composed character.
 */
export function name(max: number) {
  return z
    .string()
    .normalize('NFC')
    .trim()
    .min(1, 'must not be empty')
    .refine(noNul, 'must not contain NUL characters')
    .refine((value) => codePoints(value) <= max, `must be at most ${max} characters`)
    .meta({ minLength: 1, maxLength: max });
}

export const Id = z.number().int().min(1).max(INT32_MAX).meta({ example: 17 });

/** Contract v1.2: 1 on create, +1 on every change (stock changes included); the ETag of REST responses. */
export const Version = z.number().int().min(1).max(INT32_MAX).meta({ description: '1 on create, +1 on every change.', example: 3 });

/**
 * Contract v1.2: a write's condition (tRPC; REST sends `If-Match: "<version>"`): a different current version is a 412.
 * v1.3: so is a version that can never exist (0, past INT32_MAX): it names a version, just never the current one.
 */
export const ExpectedVersion = z
  .number()
  .int()
  .min(0)
  .optional()
  .meta({ description: 'Only change the resource while it is at this version; otherwise 412 and nothing changes.', example: 3 });

/** Contract v1.2: an `Idempotency-Key` header value: 1–255 printable ASCII characters. */
export const IdempotencyKey = z
  .string()
  .regex(/^[\x20-\x7E]{1,255}$/, 'must be 1–255 printable ASCII characters')
  .meta({ description: 'Makes this POST safe to retry: a repeat with the same key and body replays the first response.', example: 'c0ffee-3f9a-4d2e' });

/** An idempotency key as storage keeps it (shared by the API's storage port and the db package that implements it). */
export interface IdempotencyRequest {
  /** The caller: a digest of its API key when write protection is on, else one shared scope. */
  scope: string;
  key: string;
  /** A digest of the operation and its input: the same key with another request is refused. */
  hash: string;
}

/** The response stored with an idempotency key and replayed as it was. */
export interface StoredResponse {
  status: number;
  body: unknown;
  location: string | null;
}

export const Timestamp = z.iso.datetime().meta({ example: '2026-11-27T09:15:02.120Z' });

export const MONEY_MAX = 99_999_999.99;

/**
 * A money amount: 0 … 99 999 999.99 with at most two fractional digits, never silently rounded. The digit rule
 * is the server's (text of the number), not `multipleOf: 0.01`, which binary floats fail for values like 19.99.
 */
export const Money = z
  .number()
  .min(0)
  .max(MONEY_MAX)
  .refine((value) => /^-?\d+(\.\d{1,2})?$/.test(String(value)), 'must have at most 2 fractional digits')
  .meta({ description: 'At most 2 fractional digits (more is a 422, never rounded).', example: 74990.5 });

export const Quantity = z.number().int().min(0).max(INT32_MAX);

/** The `{id}` of a path: the product or category it names. */
export const PathId = Id.meta({ description: 'The id of the product or category the path names (its `id` field).' });

export const IdInput = z.strictObject({ id: PathId });

/** A delete's input: the id and, optionally, the version the caller last saw. */
export const ConditionalIdInput = z.strictObject({ id: PathId, expected_version: ExpectedVersion });

/** `{}` with at least one of `keys`, for partial updates: an empty update is a 422, not a no-op. */
export function atLeastOne(keys: readonly string[]) {
  return (value: Record<string, unknown>, ctx: z.RefinementCtx) => {
    if (!keys.some((key) => value[key] !== undefined)) {
      ctx.addIssue({ code: 'custom', path: [], message: `Provide at least one of: ${keys.join(', ')}` });
    }
  };
}
