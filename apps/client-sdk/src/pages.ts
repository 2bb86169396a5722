/** Contract v1.2: every product of a list, search or category, page by page through `next_cursor`. */
import type { ProductPage } from '@tradeos/contract';
import type { CallOptions } from './client.js';

/** A list procedure of the client: `catalog.products.list`, `.search` or `.byCategory`. */
export interface PagedQuery<I> {
  query: (input: I, options?: CallOptions) => Promise<ProductPage>;
}

/**
 * Every product the query matches, in its order, fetched `limit` at a time by cursor: each page costs the same, and
 * rows inserted or deleted meanwhile never make one repeat or go missing.
 *
 *     for await (const product of iterate(catalog.products.search, { q: 'ноутбук' })) console.log(product.name);
 */
export async function* iterate<I extends { cursor?: string; skip?: number }>(
  list: PagedQuery<I>,
  input: Omit<I, 'cursor' | 'skip'>,
  options?: CallOptions,
): AsyncGenerator<ProductPage['items'][number], void, undefined> {
  let cursor: string | undefined;
  do {
    const page = await list.query({ ...input, ...(cursor !== undefined && { cursor }) } as I, options);
    yield* page.items;
    cursor = page.next_cursor ?? undefined;
  } while (cursor !== undefined);
}
