import { createDatabase, freePort } from '@tradeos/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startServer, type LiveServer } from './helpers.js';

let server: LiveServer;
const http = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => call(server.base, method, path, body, headers);

beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

describe('status precedence: 404 route → 405 → 413 → 415 → 400 → 422 → 404 row → 409', () => {
  it('answers an unknown route with 404 whatever its body', async () => {
    const big = 'x'.repeat(2 * 1024 * 1024);
    for (const [body, type] of [['{', 'application/json'], [big, 'text/plain'], [undefined, undefined]] as const) {
      const response = await http('POST', '/nowhere', body, type ? { 'content-type': type } : {});
      expect(response.status).toBe(404);
      expect(response.body).toEqual({ code: 'NOT_FOUND', message: 'Route POST /nowhere not found' });
    }
  });

  it('answers a known path with the wrong method with 405 and Allow, even with a bad body', async () => {
    const bodyless = await http('PUT', '/products');
    expect(bodyless.status).toBe(405);
    expect(bodyless.headers.get('allow')).toBe('GET, POST, HEAD');
    expect(bodyless.body).toMatchObject({ code: 'METHOD_NOT_SUPPORTED' });
    const withBadBody = await http('PATCH', '/products/1', '{', { 'content-type': 'application/json' });
    expect(withBadBody.status).toBe(405);
    expect(withBadBody.headers.get('allow')).toBe('GET, PUT, DELETE, HEAD');
    expect((await http('GET', '/products/1/quantity')).headers.get('allow')).toBe('PATCH');
    expect((await http('DELETE', '/categories')).status).toBe(405);
  });

  it('answers a body over 1 MiB with 413, before its media type or syntax', async () => {
    const big = `{"name":"${'x'.repeat(1024 * 1024)}","price":1}`;
    for (const type of ['application/json', 'text/plain']) {
      const response = await http('POST', '/products', big, { 'content-type': type });
      expect(response.status).toBe(413);
      expect(response.body).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    }
  });

  it('answers a non-JSON body with 415, before its syntax', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
      const response = await http('POST', '/products', 'name=x', { 'content-type': type });
      expect(response.status).toBe(415);
      expect(response.body).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
    }
  });

  it('answers malformed or empty JSON with 400', async () => {
    for (const body of ['{', '{"name": }', '']) {
      const response = await http('POST', '/products', body, { 'content-type': 'application/json' });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body).toMatchObject({ code: 'BAD_REQUEST' });
    }
  });

  it('answers a write with no body at all with 400', async () => {
    for (const [method, path] of [['POST', '/products'], ['PUT', '/products/1'], ['PATCH', '/products/1/quantity'], ['POST', '/categories']]) {
      const response = await http(method!, path!);
      expect(response.status, `${method} ${path}`).toBe(400);
      expect(response.body).toMatchObject({ code: 'BAD_REQUEST' });
    }
  });

  it('answers the documentation paths with the wrong method with 405', async () => {
    for (const path of ['/openapi.json', '/docs']) {
      const response = await http('POST', path, {});
      expect(response.status, path).toBe(405);
      expect(response.headers.get('allow')).toBe('GET, HEAD');
    }
  });

  it('answers a JSON body that is not an object with 422', async () => {
    for (const body of ['[]', '"text"', '42', 'null']) {
      const response = await http('POST', '/products', body, { 'content-type': 'application/json' });
      expect(response.status, body).toBe(422);
    }
  });

  it('validates before looking the row up, and looks the row up before conflicts', async () => {
    expect((await http('PATCH', '/products/2147483647/quantity', { delta: 'x' })).status).toBe(422);
    expect((await http('PATCH', '/products/2147483647/quantity', { delta: -1 })).status).toBe(404);
  });
});

describe('every response', () => {
  it('answers HEAD on every GET route without a body', async () => {
    for (const path of ['/products', '/categories', '/health', '/products/search?q=a']) {
      const response = await fetch(`${server.base}${path}`, { method: 'HEAD' });
      expect(response.status, path).toBe(200);
      expect(await response.text()).toBe('');
    }
  });

  it('carries X-Request-Id: the client one when valid, a fresh UUID otherwise', async () => {
    const mine = await http('GET', '/products?limit=1', undefined, { 'x-request-id': 'trace:42' });
    expect(mine.headers.get('x-request-id')).toBe('trace:42');
    const error = await http('GET', '/products/abc', undefined, { 'x-request-id': 'bad id!' });
    expect(error.headers.get('x-request-id')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('never carries a stack trace, over REST or RPC', async () => {
    const rest = await http('GET', '/products/abc');
    const rpc = await http('GET', `/trpc/products.byId?input=${encodeURIComponent(JSON.stringify({ id: 'abc' }))}`);
    expect(rpc.status).toBe(422);
    for (const text of [rest.text, rpc.text]) {
      expect(text).not.toMatch(/stack|at .*\.(ts|js):\d+/);
    }
    expect(rpc.body).toMatchObject({ error: { data: { code: 'UNPROCESSABLE_CONTENT', issues: [{ path: ['id'] }] } } });
  });
});

describe('tRPC at /trpc', () => {
  it('serves the same procedures, with batching', async () => {
    const input = encodeURIComponent(JSON.stringify({ 0: {}, 1: { limit: 1 } }));
    const response = await http('GET', `/trpc/categories.list,products.list?batch=1&input=${input}`);
    expect(response.status).toBe(200);
    const [categories, products] = response.body as [{ result: { data: unknown[] } }, { result: { data: { limit: number } } }];
    expect(Array.isArray(categories.result.data)).toBe(true);
    expect(products.result.data.limit).toBe(1);
  });

  it('reports contract codes in error data', async () => {
    const response = await http('POST', '/trpc/products.create', { name: 'A', price: 1, sku: 'RPC-1' });
    expect(response.status).toBe(200);
    const conflict = await http('POST', '/trpc/products.create', { name: 'B', price: 1, sku: 'RPC-1' });
    expect(conflict.status).toBe(409);
    expect(conflict.body).toMatchObject({ error: { data: { code: 'CONFLICT', httpStatus: 409 } } });
  });
});

describe('database unreachable', () => {
  it('answers API calls with 503 in the contract shape, without driver text', async () => {
    const port = await freePort();
    const down = createDatabase({ url: `postgres://postgres@127.0.0.1:${port}/catalog` });
    const { app, close } = await startServer({ db: down });
    try {
      for (const url of ['/products', '/categories', '/products/1']) {
        const started = Date.now();
        const response = await app.inject({ method: 'GET', url });
        expect(Date.now() - started).toBeLessThan(2_500);
        expect(response.statusCode, url).toBe(503);
        expect(response.json()).toEqual({ code: 'SERVICE_UNAVAILABLE', message: expect.any(String) as string });
        expect(response.body).not.toContain(String(port));
        expect(response.body).not.toContain('ECONNREFUSED');
      }
    } finally {
      await close();
      await down.close();
    }
  });
});

describe('an unexpected fault', () => {
  it('answers 500 with a generic message and the request id, never SQL or a stack', async () => {
    const broken = await startServer();
    try {
      // Break the schema under the running server: every product read now fails inside PostgreSQL.
      await broken.db.sequelize.query('ALTER TABLE products RENAME COLUMN sku TO sku_hidden');
      const response = await call(broken.base, 'GET', '/products/1', undefined, { 'x-request-id': 'fault-1' });
      expect(response.status).toBe(500);
      expect(response.body).toEqual({ code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error', request_id: 'fault-1' });
      expect(response.text).not.toMatch(/sku|SELECT|column|postgres/i);
      const rpc = await call(broken.base, 'GET', `/trpc/products.byId?input=${encodeURIComponent('{"id":1}')}`);
      expect(rpc.status).toBe(500);
      expect(rpc.text).not.toMatch(/sku|SELECT|column|stack/i);
    } finally {
      await broken.close();
    }
  });
});
