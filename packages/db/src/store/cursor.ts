/**
 * Contract v1.2: opaque page cursors. A cursor is base64url JSON of the last row's sort values and id, a
 * fingerprint of the filters and sort it belongs to, and a checksum, so an edited, truncated or foreign cursor is a
 * 422 at `cursor` instead of a silently wrong page. It is not a secret: a hand-made cursor can only name a position.
 */
import { createHash } from 'node:crypto';
import { DataError } from '../errors.js';

/** How each kind of sort value travels in a cursor; values are checked against it when a cursor comes back. */
export type CursorValue = 'integer' | 'text' | 'decimal' | 'timestamp';

const digest = (text: string) => createHash('sha256').update(text).digest('base64url').slice(0, 16);

/** Ties a cursor to one query: the same filters, sort and order give the same fingerprint. */
export function fingerprint(parts: unknown): string {
  return digest(JSON.stringify(parts));
}

export function encodeCursor(print: string, values: (string | number)[]): string {
  const payload = JSON.stringify([print, ...values]);
  return Buffer.from(JSON.stringify([payload, digest(payload)])).toString('base64url');
}

// A cursor is not a secret, so one can be hand-made: each value must also be one PostgreSQL takes as its column's
// type, or the statement would fail (a 500) where the answer is a 422.
const CHECKS: Record<CursorValue, (value: unknown) => boolean> = {
  integer: (value) => Number.isInteger(value) && (value as number) >= -2_147_483_648 && (value as number) <= 2_147_483_647,
  // PostgreSQL text holds no NUL character.
  text: (value) => typeof value === 'string' && !value.includes('\u0000'),
  decimal: (value) => typeof value === 'string' && /^\d{1,8}(\.\d{1,2})?$/.test(value),
  // A real instant in years 1-9999, written as toISOString writes it (so no February 30th and no year 0).
  timestamp: (value) =>
    typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(value) && !value.startsWith('0000') && !Number.isNaN(Date.parse(value)) && new Date(value).toISOString() === value,
};

const invalid = (message: string) => new DataError('invalid', message, 'cursor');

/** The sort values a cursor carries, if it belongs to the query `print` stands for and has the `shape` expected. */
export function decodeCursor(cursor: string, print: string, shape: CursorValue[]): (string | number)[] {
  let outer: unknown;
  try {
    // Node decodes base64url leniently (it skips foreign characters, padding and spare bits): only the exact text
    // that encodes the bytes is a cursor, so an edited one is a 422 rather than the same page.
    const bytes = Buffer.from(cursor, 'base64url');
    if (bytes.toString('base64url') !== cursor) throw new Error('not strict base64url');
    outer = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw invalid('is not a cursor this server made; pass the next_cursor of a previous page as it was');
  }
  const [payload, check] = Array.isArray(outer) ? (outer as unknown[]) : [];
  if (typeof payload !== 'string' || check !== digest(payload)) throw invalid('is not a cursor this server made; pass the next_cursor of a previous page as it was');
  const [printed, ...values] = JSON.parse(payload) as unknown[];
  if (printed !== print) throw invalid('belongs to other filters or another sort; use the same filters, sort_by and order as the page it came from');
  if (values.length !== shape.length || !shape.every((kind, index) => CHECKS[kind](values[index]))) {
    throw invalid('is not a cursor this server made; pass the next_cursor of a previous page as it was');
  }
  return values as (string | number)[];
}
