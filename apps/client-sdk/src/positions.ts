/**
 * Read your writes and monotonic reads for free (contract v1.3): the client keeps the highest `X-Catalog-Position`
 * any response gave it and sends it as `X-Catalog-Min-Position` with every read (tRPC queries are GETs), so no read
 * is answered from data older than what this client wrote or read before. Tokens are fixed-width upper-case hex:
 * the higher position is the greater string.
 */
const TOKEN = /^[0-9A-F]{16}$/;

type Fetch = typeof globalThis.fetch;

/** `fetch` with this client's position: one per client instance, shared by all its links. */
export function positionedFetch(fetch?: Fetch): Fetch {
  let highest: string | undefined;
  return async (input, init) => {
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    let sent = init;
    if (highest !== undefined && (method === 'GET' || method === 'HEAD')) {
      const headers = new Headers(init?.headers);
      headers.set('x-catalog-min-position', highest);
      sent = { ...init, headers };
    }
    const response = await (fetch ?? globalThis.fetch)(input, sent);
    const position = response.headers.get('x-catalog-position');
    if (position !== null && TOKEN.test(position) && (highest === undefined || position > highest)) highest = position;
    return response;
  };
}
