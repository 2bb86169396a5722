/**
 * Request headers the contract reads as one value. Node joins a repeated header with ", " (two Idempotency-Keys
 * would become the one key "a1, b1"), so a repeat is refused here, once for every route, before anything reads it.
 */
import { toErrorBody, ValidationError } from '@tradeos/api';
import type { FastifyReply, FastifyRequest } from 'fastify';

// Lower-case name (as Node compares) → the name a message shows.
const SINGLE_VALUED = new Map([
  ['idempotency-key', 'Idempotency-Key'],
  ['if-match', 'If-Match'],
  ['last-event-id', 'Last-Event-ID'],
  ['x-catalog-min-position', 'X-Catalog-Min-Position'],
]);

/**
 * A 422 at `[]` naming each single-valued header sent more than once; a preHandler, so 401/403 and 429 come first.
 * Counted in `rawHeaders` (name, value, name, value…), which injected requests have too, unlike `headersDistinct`.
 */
export async function rejectRepeatedHeaders(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
  const { rawHeaders } = request.raw;
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (let index = 0; index < rawHeaders.length; index += 2) {
    const shown = SINGLE_VALUED.get(rawHeaders[index]!.toLowerCase());
    if (shown === undefined) continue;
    if (seen.has(shown)) repeated.add(shown);
    seen.add(shown);
  }
  if (!repeated.size) return undefined;
  const error = new ValidationError([...repeated].map((name) => ({ path: [], message: `${name} was sent more than once; send it once` })));
  return reply.code(422).send(toErrorBody(error, request.id));
}
