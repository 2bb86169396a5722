/**
 * Positions (contract v1.3, read your writes): a WAL position as the token `X-Catalog-Position` carries, and the
 * request's position context, which travels from the HTTP layer to the reads and writes beneath it.
 *
 * The context rides on AsyncLocalStorage rather than a parameter of every port call: the reads that route by it sit
 * several calls below the store (products.ts, search/, categories.ts), and a parameter would thread through each of
 * them and through every procedure of the API's port, which knows nothing of replicas. The server opens one context
 * per request (`withPositions`), the database reads its minimum and records what each statement saw, and the server
 * reads the context object it opened — not the storage — when it writes the response's header.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** A WAL position (a 64-bit LSN). */
export type Position = bigint;

const TOKEN = /^[0-9A-F]{16}$/;
const LSN = /^([0-9A-F]{1,8})\/([0-9A-F]{1,8})$/i;

/** The token of a position: 16 upper-case hex digits, so tokens compare as strings as their positions do. */
export function formatPosition(position: Position): string {
  return position.toString(16).toUpperCase().padStart(16, '0');
}

/** The position a token names; undefined for anything but 16 upper-case hex digits. */
export function parsePosition(token: string): Position | undefined {
  return TOKEN.test(token) ? BigInt(`0x${token}`) : undefined;
}

/** PostgreSQL's `pg_lsn` text (`16/B374D848`) as a position; null (no WAL replayed yet) is 0. */
export function lsnPosition(lsn: string | null | undefined): Position {
  const parts = lsn ? LSN.exec(lsn) : null;
  return parts ? (BigInt(`0x${parts[1]}`) << 32n) | BigInt(`0x${parts[2]}`) : 0n;
}

/** What one request asked for and what its statements saw. */
export interface PositionContext {
  /** `X-Catalog-Min-Position`: every read of the request is served from data at least this new. */
  readonly min?: Position;
  /** The highest position the request's reads and writes saw (0: none yet). */
  seen: Position;
  /** The node the request's first routed read used, kept by the later ones (one snapshot source per request). */
  node?: unknown;
}

const storage = new AsyncLocalStorage<PositionContext>();

/** Runs `work` (and everything it starts) in `context`. */
export function withPositions<T>(context: PositionContext, work: () => T): T {
  return storage.run(context, work);
}

/** The current request's context; undefined outside one (tests, the bench, the CLI calling the store directly). */
export function positionContext(): PositionContext | undefined {
  return storage.getStore();
}

/** Records that the current request saw data at `position`. */
export function saw(position: Position): void {
  const context = storage.getStore();
  if (context && position > context.seen) context.seen = position;
}
