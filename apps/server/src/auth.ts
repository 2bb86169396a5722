/**
 * Write protection: with API keys configured, every request that can change data (any method but GET,
 * HEAD and OPTIONS, over REST and RPC alike) needs `Authorization: Bearer <key>`. Runs after the body is
 * parsed and before validation, so 400/413/415 still win and 422 comes after it, as the contract orders.
 * `/metrics` asks the same key of every scrape (contract v1.3).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ERRORS } from '@tradeos/contract';
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

const digest = (key: string) => createHash('sha256').update(key).digest();

/** The key of `Authorization: Bearer <key>`, if the request sent one. */
const bearer = (request: FastifyRequest): string | undefined => /^Bearer ([^\s]+)$/i.exec(request.headers.authorization ?? '')?.[1];

/**
 * A check that answers 401 without a bearer key (`message` says what needs one) and 403 with a key not in `apiKeys`;
 * it lets the request through otherwise. Write protection asks it of every write, `/metrics` of every scrape.
 */
export function requireKey(apiKeys: string[], message: string = ERRORS.UNAUTHORIZED.message) {
  const known = apiKeys.map(digest);
  // Compare digests (equal length) against every key without stopping early, so timing says nothing.
  const accepted = (key: string) => known.reduce((match, candidate) => timingSafeEqual(candidate, digest(key)) || match, false);

  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const key = bearer(request);
    if (key === undefined) {
      return reply.code(ERRORS.UNAUTHORIZED.status).header('www-authenticate', 'Bearer').send({ code: 'UNAUTHORIZED', message });
    }
    if (!accepted(key)) return reply.code(ERRORS.FORBIDDEN.status).send({ code: 'FORBIDDEN', message: ERRORS.FORBIDDEN.message });
    return undefined;
  };
}

export function writeProtection(apiKeys: string[]): preHandlerAsyncHookHandler {
  const check = requireKey(apiKeys);
  return async (request, reply) => {
    if (!READS.has(request.method)) return check(request, reply);
  };
}

/**
 * Contract v1.2: whose idempotency keys a request's are: a digest of its bearer key (checked by write protection
 * when that is on), else one shared scope. The key itself is never stored.
 */
export function scopeOf(request: FastifyRequest): string {
  const key = bearer(request);
  return key === undefined ? 'public' : digest(key).toString('hex');
}
