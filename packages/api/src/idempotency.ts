/**
 * Contract v1.2: idempotency keys at the router. A keyed write runs through the store's `once`, which keeps the
 * key, a digest of the request and the response in one transaction with the write; a repeat gets that response.
 */
import { createHash } from 'node:crypto';
import { IdempotencyKey, type Operation } from '@tradeos/contract';
import type { Context } from './context.js';
import { ValidationError } from './errors.js';
import type { CreatedResponse, IdempotencyRequest, KeyedWrites, Once } from './store.js';

/**
 * Runs `work` as `procedure` with the request's key, if it sent one. The request digest covers the procedure and
 * its parsed input (zod rebuilds objects in schema order), so the same key on another operation or with another body
 * is refused, while a body that differs only in spacing or key order is the same request.
 */
export async function keyed<T>(
  ctx: Context,
  procedure: string,
  operation: Operation,
  input: unknown,
  work: (writes: KeyedWrites) => Promise<T>,
  // A write the store guards in one statement with its key (a product create): used instead of `work` in `once`.
  inOneStatement?: (request: IdempotencyRequest, response: CreatedResponse) => Promise<Once<T>>,
): Promise<T> {
  if (ctx.idempotencyKey === undefined) return work(ctx.store);
  const key = IdempotencyKey.safeParse(ctx.idempotencyKey);
  if (!key.success) throw new ValidationError([{ path: ['Idempotency-Key'], message: key.error.issues[0]?.message ?? 'invalid' }]);
  const hash = createHash('sha256').update(JSON.stringify([procedure, input])).digest('hex');
  const respond = (value: T) => ({
    status: operation.success,
    location: operation.success === 201 ? `${operation.path}/${(value as { id: number }).id}` : null,
  });
  const request = { scope: ctx.scope, key: key.data, hash };
  const outcome = inOneStatement
    ? await inOneStatement(request, { status: operation.success, locationPrefix: operation.path })
    : await ctx.store.once(request, respond, work, ctx.signal);
  if (!outcome.replayed) return outcome.value;
  ctx.onReplay?.();
  return outcome.response.body as T;
}
