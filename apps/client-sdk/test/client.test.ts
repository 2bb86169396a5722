import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { freePort } from '@tradeos/db';
import { buildApp } from '@tradeos/server/app';
import { describe, expect, it } from 'vitest';
import { createCatalogClient, errorCode, isCatalogError, iterate, type CatalogClientOptions } from '../src/index.js';
import { useServedCatalog } from './served.js';

const served = useServedCatalog();

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** A suffix that keeps each test's names and skus apart in the shared database. */
const unique = () => randomUUID().slice(0, 8);

/** The error a call rejects with; fails the test if it resolves. */
async function failure(call: Promise<unknown>): Promise<unknown> {
  try {
    await call;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

interface Exchange {
  url: string;
  method: string;
  response: Response;
}

/** A `fetch` that records every HTTP exchange, so tests can count requests and read response headers. */
function recordingFetch(): { exchanges: Exchange[]; fetch: NonNullable<CatalogClientOptions['fetch']> } {
  const exchanges: Exchange[] = [];
  return {
    exchanges,
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      exchanges.push({ url, method: init?.method ?? 'GET', response });
      return response;
    },
  };
}

describe('categories through the SDK', () => {
  it('creates, lists, reads and updates a category', async () => {
    const name = `Электроника ${unique()}`;
    const created = await served.client.categories.create.mutate({ name: `  ${name}  `, description: 'Ноутбуки и телефоны' });
    expect(created).toEqual({
      id: expect.any(Number) as number,
      name,
      description: 'Ноутбуки и телефоны',
      product_count: 0,
      version: 1,
      created_at: expect.stringMatching(ISO) as string,
      updated_at: created.created_at,
    });

    expect(await served.client.categories.list.query({})).toContainEqual(created);
    expect(await served.client.categories.byId.query({ id: created.id })).toEqual(created);

    const updated = await served.client.categories.update.mutate({ id: created.id, description: null });
    expect(updated).toEqual({ ...created, description: null, version: 2, updated_at: expect.stringMatching(ISO) as string });
    expect(Date.parse(updated.updated_at)).toBeGreaterThanOrEqual(Date.parse(created.updated_at));
  });
});

describe('products through the SDK', () => {
  it('creates, filters, searches, adjusts, updates and deletes a product', async () => {
    const category = await served.client.categories.create.mutate({ name: `Ноутбуки ${unique()}` });
    const sku = `LEN-IP5-${unique()}`;

    const product = await served.client.products.create.mutate({
      name: 'Ноутбук Lenovo IdeaPad 5',
      description: '14", 16 GB RAM',
      price: 74990.5,
      quantity: 12,
      sku,
      category_id: category.id,
    });
    expect(product).toEqual({
      id: expect.any(Number) as number,
      name: 'Ноутбук Lenovo IdeaPad 5',
      description: '14", 16 GB RAM',
      price: 74990.5,
      quantity: 12,
      reserved: 0,
      available: 12,
      in_stock: true,
      sku,
      category_id: category.id,
      category: { id: category.id, name: category.name },
      version: 1,
      created_at: expect.stringMatching(ISO) as string,
      updated_at: product.created_at,
    });
    expect(await served.client.products.byId.query({ id: product.id })).toEqual(product);
    expect((await served.client.categories.byId.query({ id: category.id })).product_count).toBe(1);

    const mouse = await served.client.products.create.mutate({ name: 'Мышь беспроводная', price: 1490, category_id: category.id });
    expect(mouse).toMatchObject({ quantity: 0, in_stock: false, sku: null, description: null });

    const inRange = await served.client.products.list.query({ category_id: category.id, min_price: 70_000, max_price: 80_000, in_stock: true });
    expect(inRange).toEqual({ items: [product], total: 1, skip: 0, limit: 20, next_cursor: null });
    const byPrice = await served.client.products.list.query({ category: category.name.toUpperCase(), sort_by: 'price', order: 'asc', limit: 1 });
    expect(byPrice).toEqual({ items: [mouse], total: 2, skip: 0, limit: 1, next_cursor: expect.any(String) as string });
    expect((await served.client.products.list.query({ category_id: category.id, in_stock: false })).items).toEqual([mouse]);

    const found = await served.client.products.search.query({ q: 'НОУТБУК', category_id: category.id });
    expect(found.items.map((item) => item.name)).toEqual(['Ноутбук Lenovo IdeaPad 5']);
    expect(found.total).toBe(1);
    // Contract v1.3: by words, a plural typed in the other layout finds it too; the total says whether it is an estimate.
    const byWords = await served.client.products.search.query({ q: 'yjen,erb', match: 'words', category_id: category.id });
    expect(byWords).toMatchObject({ items: [product], total: 1, total_is_estimate: false });

    const inCategory = await served.client.products.byCategory.query({ category: category.name.toLowerCase(), sort_by: 'id', order: 'asc' });
    expect(inCategory.items.map((item) => item.id)).toEqual([product.id, mouse.id]);

    const decremented = await served.client.products.adjustQuantity.mutate({ id: product.id, delta: -2 });
    expect(decremented).toMatchObject({ id: product.id, quantity: 10, in_stock: true, version: 2 });
    const emptied = await served.client.products.adjustQuantity.mutate({ id: product.id, quantity: 0 });
    expect(emptied).toMatchObject({ id: product.id, quantity: 0, in_stock: false, version: 3 });

    const updated = await served.client.products.update.mutate({ id: product.id, name: 'Ноутбук Lenovo IdeaPad 5 Pro', price: 89990 });
    expect(updated).toEqual({
      ...product,
      name: 'Ноутбук Lenovo IdeaPad 5 Pro',
      price: 89990,
      quantity: 0,
      available: 0,
      in_stock: false,
      version: 4,
      updated_at: expect.stringMatching(ISO) as string,
    });
    expect(Date.parse(updated.updated_at)).toBeGreaterThan(Date.parse(product.updated_at));

    await expect(served.client.products.delete.mutate({ id: product.id })).resolves.toBeUndefined();
    const gone = await failure(served.client.products.byId.query({ id: product.id }));
    expect(errorCode(gone)).toBe('NOT_FOUND');
    expect((await served.client.products.list.query({ category_id: category.id })).items).toEqual([mouse]);
  });
});

describe('typed errors', () => {
  it('404: NOT_FOUND, with the HTTP status and the server message', async () => {
    const error = await failure(served.client.products.byId.query({ id: 999_999 }));
    expect(isCatalogError(error, 'NOT_FOUND')).toBe(true);
    if (!isCatalogError(error, 'NOT_FOUND')) return;
    expect(errorCode(error)).toBe('NOT_FOUND');
    expect(error.data.httpStatus).toBe(404);
    expect(error.message).toBe('Product 999999 not found');
    expect(isCatalogError(error, 'CONFLICT')).toBe(false);
  });

  it('409: CONFLICT for a duplicate sku', async () => {
    const sku = `DUP-${unique()}`;
    await served.client.products.create.mutate({ name: 'Книга', price: 590, sku });
    const error = await failure(served.client.products.create.mutate({ name: 'Другая книга', price: 690, sku }));
    expect(errorCode(error)).toBe('CONFLICT');
    expect(isCatalogError(error, 'CONFLICT') && error.data.httpStatus).toBe(409);
  });

  it('422: UNPROCESSABLE_CONTENT naming the bad field, and nothing is created', async () => {
    const name = `Стол ${unique()}`;
    const error = await failure(served.client.products.create.mutate({ name, price: 1.234 }));
    expect(isCatalogError(error, 'UNPROCESSABLE_CONTENT')).toBe(true);
    if (!isCatalogError(error, 'UNPROCESSABLE_CONTENT')) return;
    expect(error.data.httpStatus).toBe(422);
    expect(error.data.issues?.[0]?.path).toEqual(['price']);
    expect((await served.client.products.list.query({ q: name })).total).toBe(0);
  });

  it('401/403 from write protection (answered before tRPC runs) carry the same typed data; a key in headers passes', async () => {
    const key = 'sdk-test-key-0123456789';
    const guarded = buildApp({ db: served.db, apiKeys: [key] });
    await guarded.listen({ port: 0, host: '127.0.0.1' });
    try {
      const url = `http://127.0.0.1:${(guarded.server.address() as AddressInfo).port}`;
      const name = `Мебель ${unique()}`;
      const missing = await failure(createCatalogClient({ url }).categories.create.mutate({ name }));
      expect(isCatalogError(missing, 'UNAUTHORIZED') && missing.data.httpStatus).toBe(401);
      const wrongKey = createCatalogClient({ url, headers: { authorization: 'Bearer not-the-key-at-all' } });
      const forbidden = await failure(wrongKey.categories.create.mutate({ name }));
      expect(isCatalogError(forbidden, 'FORBIDDEN') && forbidden.data.httpStatus).toBe(403);
      const keyed = createCatalogClient({ url, headers: () => ({ authorization: `Bearer ${key}` }) });
      const created = await keyed.categories.create.mutate({ name });
      expect(await createCatalogClient({ url }).categories.byId.query({ id: created.id })).toEqual(created);
    } finally {
      await guarded.close();
    }
  });

  it('413: PAYLOAD_TOO_LARGE for a body over 1 MiB', async () => {
    const error = await failure(served.client.products.create.mutate({ name: 'x'.repeat(1_100_000), price: 1 }));
    expect(errorCode(error)).toBe('PAYLOAD_TOO_LARGE');
    expect(isCatalogError(error, 'PAYLOAD_TOO_LARGE') && error.data.httpStatus).toBe(413);
  });

  it('has no code for a failure that never reached the server, or for foreign errors', async () => {
    const offline = createCatalogClient({ url: `http://127.0.0.1:${await freePort()}` });
    const error = await failure(offline.health.query({}));
    expect(isCatalogError(error)).toBe(true);
    expect(errorCode(error)).toBeUndefined();
    expect(isCatalogError(error, 'NOT_FOUND')).toBe(false);
    expect(errorCode(new Error('boom'))).toBeUndefined();
    expect(isCatalogError('NOT_FOUND')).toBe(false);
  });
});

describe('transport', () => {
  it('names the url option when it is missing or not an http(s) URL, before any request', () => {
    const create = (options: unknown) => () => createCatalogClient(options as CatalogClientOptions);
    expect(create({ url: undefined })).toThrow(
      new TypeError('createCatalogClient: the "url" option is required: the server\'s base URL, such as "http://127.0.0.1:8000" (got undefined)'),
    );
    expect(create({})).toThrow(/^createCatalogClient: the "url" option is required/);
    expect(create({ url: '' })).toThrow(/the "url" option is required: .* \(got an empty string\)$/);
    expect(create({ url: 'localhost:8000' })).toThrow(
      new TypeError('createCatalogClient: the "url" option must be an http:// or https:// URL: the server\'s base URL, such as "http://127.0.0.1:8000" (got "localhost:8000")'),
    );
    expect(create({ url: '127.0.0.1:8000' })).toThrow(/must be an http:\/\/ or https:\/\/ URL/);
    expect(createCatalogClient({ url: 'https://catalog.example/' })).toBeDefined();
  });

  it('sends queries made in the same tick as one batched HTTP request', async () => {
    const recorder = recordingFetch();
    const batched = createCatalogClient({ url: `${served.base}/`, fetch: recorder.fetch });

    const [categories, page] = await Promise.all([batched.categories.list.query({}), batched.products.list.query({ limit: 1 })]);
    expect(Array.isArray(categories)).toBe(true);
    expect(page.limit).toBe(1);
    expect(recorder.exchanges).toHaveLength(1);
    expect(recorder.exchanges[0]?.method).toBe('GET');
    expect(recorder.exchanges[0]?.url.startsWith(`${served.base}/trpc/categories.list,products.list?batch=1&`)).toBe(true);

    await batched.health.query({});
    expect(recorder.exchanges).toHaveLength(2);
  });

  it('sends fixed headers with every request: a valid X-Request-Id comes back', async () => {
    const recorder = recordingFetch();
    const tagged = createCatalogClient({ url: served.base, fetch: recorder.fetch, headers: { 'X-Request-Id': 'sdk-fixed-1' } });
    await tagged.health.query({});
    await tagged.categories.list.query({});
    expect(recorder.exchanges.map(({ response }) => response.headers.get('x-request-id'))).toEqual(['sdk-fixed-1', 'sdk-fixed-1']);
  });

  it('calls a headers function for every request', async () => {
    const recorder = recordingFetch();
    let sent = 0;
    const tagged = createCatalogClient({
      url: served.base,
      fetch: recorder.fetch,
      headers: async () => {
        sent += 1;
        return Promise.resolve({ 'x-request-id': `sdk-call-${sent}` });
      },
    });
    await tagged.health.query({});
    await tagged.products.list.query({ limit: 1 });
    expect(recorder.exchanges.map(({ response }) => response.headers.get('x-request-id'))).toEqual(['sdk-call-1', 'sdk-call-2']);
  });
});

describe('safe writes through the SDK', () => {
  it('sends a per-call idempotency key as the header: a repeated create returns the first product and creates nothing', async () => {
    const { exchanges, fetch } = recordingFetch();
    const keyed = createCatalogClient({ url: served.base, fetch });
    const input = { name: `Ключевой ${unique()}`, price: 10 };
    const options = { context: { idempotencyKey: `sdk-${unique()}` } };
    const [first, again] = [await keyed.products.create.mutate(input, options), await keyed.products.create.mutate(input, options)];
    expect(again).toEqual(first);
    expect(exchanges.map((exchange) => exchange.response.headers.get('idempotent-replayed'))).toEqual([null, 'true']);
    expect((await keyed.products.search.query({ q: input.name })).total).toBe(1);
  });

  it("gives every write its own key with idempotencyKeys: 'auto', so a retrying fetch never creates twice", async () => {
    let calls = 0;
    // A fetch that loses the first answer and sends the very same request again.
    const flaky: typeof globalThis.fetch = async (input, init) => {
      calls += 1;
      if (calls === 1) await fetch(input, init);
      return fetch(input, init);
    };
    const auto = createCatalogClient({ url: served.base, fetch: flaky, idempotencyKeys: 'auto' });
    const name = `Авто ${unique()}`;
    const created = await auto.categories.create.mutate({ name });
    expect(created.name).toBe(name);
    expect((await served.client.categories.list.query({})).filter((category) => category.name === name)).toHaveLength(1);
  });

  it('takes expected_version: a stale one is PRECONDITION_FAILED', async () => {
    const product = await served.client.products.create.mutate({ name: `Версия ${unique()}`, price: 1 });
    const error = await failure(served.client.products.update.mutate({ id: product.id, price: 2, expected_version: product.version + 1 }));
    expect(errorCode(error)).toBe('PRECONDITION_FAILED');
    expect((await served.client.products.update.mutate({ id: product.id, price: 2, expected_version: product.version })).version).toBe(product.version + 1);
  });

  it('upserts many by sku, and iterates every product of a query page by page', async () => {
    const tag = unique();
    const items = Array.from({ length: 25 }, (_, index) => ({ sku: `IT-${tag}-${index}`, name: `Итерация ${tag} ${index}`, price: index }));
    expect((await served.client.products.upsertMany.mutate({ items })).created).toBe(25);
    const names: string[] = [];
    for await (const product of iterate(served.client.products.search, { q: `Итерация ${tag}`, limit: 7, sort_by: 'price', order: 'asc' })) names.push(product.name);
    expect(names).toEqual(items.map((item) => item.name));
  });
});
