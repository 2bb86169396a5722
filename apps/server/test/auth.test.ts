import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startServer, type LiveServer } from './helpers.js';

const KEY = 'test-key-0123456789abcdef';
const OTHER = 'second-key-0123456789abcdef';
let server: LiveServer;
let base: string;

beforeAll(async () => {
  server = await startServer({ apiKeys: [KEY, OTHER] });
  base = server.base;
});
afterAll(() => server.close());

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe('write protection with API_KEYS', () => {
  it('keeps reads open', async () => {
    expect((await call(base, 'GET', '/products')).status).toBe(200);
    expect((await call(base, 'GET', '/categories')).status).toBe(200);
    expect((await call(base, 'GET', `/trpc/categories.list?input=${encodeURIComponent('{}')}`)).status).toBe(200);
  });

  it('answers a write without a key 401, with an unknown key 403, and nothing changes', async () => {
    const missing = await call(base, 'POST', '/categories', { name: 'Без ключа' });
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    expect(missing.body).toMatchObject({ code: 'UNAUTHORIZED' });
    const wrong = await call(base, 'POST', '/categories', { name: 'Чужой ключ' }, bearer('not-a-real-key-0000000000'));
    expect(wrong.status).toBe(403);
    expect(wrong.body).toMatchObject({ code: 'FORBIDDEN' });
    expect((await call(base, 'GET', '/categories')).body).toEqual([]);
  });

  it('accepts every configured key, over REST and RPC', async () => {
    const created = await call(base, 'POST', '/categories', { name: 'С ключом' }, bearer(KEY));
    expect(created.status).toBe(201);
    const { id } = created.body as { id: number };
    expect((await call(base, 'PUT', `/categories/${id}`, { description: 'ok' }, bearer(OTHER))).status).toBe(200);
    const rpcDenied = await call(base, 'POST', '/trpc/categories.create', { name: 'RPC без ключа' });
    expect(rpcDenied.status).toBe(401);
    const rpc = await call(base, 'POST', '/trpc/categories.create', { name: 'RPC с ключом' }, bearer(KEY));
    expect(rpc.status).toBe(200);
    expect((await call(base, 'DELETE', `/categories/${id}`, undefined, bearer(KEY))).status).toBe(204);
  });

  it('keeps the contract order: 405 and 400 before 401, 401 before 422', async () => {
    expect((await call(base, 'PUT', '/products')).status).toBe(405);
    expect((await call(base, 'POST', '/products', '{', { 'content-type': 'application/json' })).status).toBe(400);
    expect((await call(base, 'POST', '/products')).status).toBe(400);
    expect((await call(base, 'POST', '/products', { price: 'bad' })).status).toBe(401);
    expect((await call(base, 'POST', '/products', { price: 'bad' }, bearer(KEY))).status).toBe(422);
  });
});

describe('the OpenAPI document with write protection on', () => {
  it('declares the bearer key on exactly the writes, with their 401 and 403', async () => {
    const document = (await call(base, 'GET', '/openapi.json')).body as {
      components: { securitySchemes: Record<string, { type: string; scheme: string }> };
      paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, unknown> }>>;
    };
    expect(document.components.securitySchemes).toEqual({ apiKey: expect.objectContaining({ type: 'http', scheme: 'bearer' }) as unknown });
    const operations = Object.entries(document.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })));
    for (const { path, method, op } of operations) {
      const write = method !== 'get' && method !== 'head';
      expect(op.security, `${method} ${path}`).toEqual(write ? [{ apiKey: [] }] : undefined);
      expect(Object.keys(op.responses).includes('401'), `${method} ${path}`).toBe(write);
      expect(Object.keys(op.responses).includes('403'), `${method} ${path}`).toBe(write);
    }
    expect(operations.filter(({ method }) => method !== 'get' && method !== 'head')).toHaveLength(11);
  });
});
