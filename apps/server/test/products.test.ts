import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startServer, type LiveServer } from './helpers.js';

let server: LiveServer;
let categoryId: number;
const http = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => call(server.base, method, path, body, headers);

beforeAll(async () => {
  server = await startServer();
  categoryId = ((await http('POST', '/categories', { name: 'Электроника' })).body as { id: number }).id;
});
afterAll(() => server.close());

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('POST /products', () => {
  it('creates a product: 201, Location, the full resource with derived fields', async () => {
    const response = await http('POST', '/products', {
      name: '  Ноутбук Lenovo IdeaPad 5  ',
      description: '14", 16 GB RAM',
      price: 74990.5,
      quantity: 12,
      sku: 'LEN-IP5-14',
      category_id: categoryId,
    });
    expect(response.status).toBe(201);
    const product = response.body as Record<string, unknown>;
    expect(response.headers.get('location')).toBe(`/products/${String(product.id)}`);
    expect(product).toEqual({
      id: expect.any(Number) as number,
      name: 'Ноутбук Lenovo IdeaPad 5',
      description: '14", 16 GB RAM',
      price: 74990.5,
      quantity: 12,
      reserved: 0,
      available: 12,
      in_stock: true,
      sku: 'LEN-IP5-14',
      category_id: categoryId,
      category: { id: categoryId, name: 'Электроника' },
      version: 1,
      created_at: expect.stringMatching(ISO) as string,
      updated_at: expect.stringMatching(ISO) as string,
    });
    const fetched = await http('GET', `/products/${String(product.id)}`);
    expect(fetched.status).toBe(200);
    expect(fetched.body).toEqual(product);
  });

  it('applies defaults: quantity 0 is out of stock, optional fields null', async () => {
    const { status, body } = await http('POST', '/products', { name: 'Бесплатный образец', price: 0 });
    expect(status).toBe(201);
    expect(body).toMatchObject({ price: 0, quantity: 0, in_stock: false, sku: null, description: null, category_id: null, category: null });
  });

  it('stores prices exactly at the boundaries', async () => {
    for (const price of [19.99, 99_999_999.99, 0.01]) {
      const { status, body } = await http('POST', '/products', { name: `Цена ${price}`, price });
      expect(status).toBe(201);
      expect((body as { price: number }).price).toBe(price);
    }
  });

  it('counts name length in characters: 200 emoji fit, 201 do not', async () => {
    expect((await http('POST', '/products', { name: '🚀'.repeat(200), price: 1 })).status).toBe(201);
    const tooLong = await http('POST', '/products', { name: '🚀'.repeat(201), price: 1 });
    expect(tooLong.status).toBe(422);
    expect(tooLong.body).toMatchObject({ code: 'UNPROCESSABLE_CONTENT', issues: [{ path: ['name'] }] });
  });

  it.each([
    ['price with three decimals', { name: 'A', price: 1.234 }, ['price']],
    ['price as a string', { name: 'A', price: '19.99' }, ['price']],
    ['negative price', { name: 'A', price: -1 }, ['price']],
    ['price above the maximum', { name: 'A', price: 100_000_000 }, ['price']],
    ['missing price', { name: 'A' }, ['price']],
    ['missing name', { price: 1 }, ['name']],
    ['blank name', { name: '   ', price: 1 }, ['name']],
    ['name with NUL', { name: 'A\u0000B', price: 1 }, ['name']],
    ['negative quantity', { name: 'A', price: 1, quantity: -1 }, ['quantity']],
    ['fractional quantity', { name: 'A', price: 1, quantity: 1.5 }, ['quantity']],
    ['bad sku', { name: 'A', price: 1, sku: 'has space' }, ['sku']],
    ['description over 5000 characters', { name: 'A', price: 1, description: 'я'.repeat(5001) }, ['description']],
    ['category_id zero', { name: 'A', price: 1, category_id: 0 }, ['category_id']],
    ['unknown category', { name: 'A', price: 1, category_id: 999_999 }, ['category_id']],
    ['unknown field', { name: 'A', price: 1, colour: 'red' }, ['colour']],
    ['read-only in_stock', { name: 'A', price: 1, in_stock: true }, ['in_stock']],
    ['read-only id', { name: 'A', price: 1, id: 5 }, ['id']],
    ['read-only created_at', { name: 'A', price: 1, created_at: '2026-01-01T00:00:00.000Z' }, ['created_at']],
  ])('rejects %s with 422 naming the field', async (_label, body, path) => {
    const response = await http('POST', '/products', body);
    expect(response.status).toBe(422);
    const error = response.body as { code: string; message: string; issues: { path: unknown[]; message: string }[] };
    expect(error.code).toBe('UNPROCESSABLE_CONTENT');
    expect(error.message).toEqual(expect.any(String));
    expect(error.issues.map((issue) => issue.path)).toContainEqual(path);
  });

  it('rejects a duplicate sku with 409 and creates nothing', async () => {
    await http('POST', '/products', { name: 'Первый', price: 1, sku: 'DUP-1' });
    const before = ((await http('GET', '/products?limit=1')).body as { total: number }).total;
    const response = await http('POST', '/products', { name: 'Второй', price: 2, sku: 'DUP-1' });
    expect(response.status).toBe(409);
    expect(response.body).toEqual({ code: 'CONFLICT', message: expect.stringContaining('sku') as string });
    expect(((await http('GET', '/products?limit=1')).body as { total: number }).total).toBe(before);
  });
});

describe('GET /products/{id}', () => {
  it.each([
    ['abc', ['id']],
    ['0', ['id']],
    ['-5', ['id']],
    ['1.5', ['id']],
    ['99999999999', ['id']],
  ])('answers a bad id %s with 422, never reaching the database', async (id, path) => {
    const response = await http('GET', `/products/${id}`);
    expect(response.status).toBe(422);
    expect(response.body).toMatchObject({ code: 'UNPROCESSABLE_CONTENT', issues: [{ path }] });
  });

  it('answers a missing product with 404', async () => {
    const response = await http('GET', '/products/2147483647');
    expect(response.status).toBe(404);
    expect(response.body).toEqual({ code: 'NOT_FOUND', message: 'Product 2147483647 not found' });
  });

  it('rejects unknown query parameters', async () => {
    const response = await http('GET', '/products/1?verbose=true');
    expect(response.status).toBe(422);
    expect(response.body).toMatchObject({ issues: [{ path: ['verbose'] }] });
  });
});

describe('PUT /products/{id}', () => {
  it('updates only the given fields and moves updated_at forward', async () => {
    const created = (await http('POST', '/products', { name: 'Старое имя', price: 10, quantity: 3, sku: 'UPD-1', description: 'Описание' }))
      .body as Record<string, unknown>;
    await new Promise((resolve) => setTimeout(resolve, 5));
    const response = await http('PUT', `/products/${String(created.id)}`, { name: 'Новое имя', price: 12.5 });
    expect(response.status).toBe(200);
    const updated = response.body as Record<string, unknown>;
    expect(updated).toMatchObject({ id: created.id, name: 'Новое имя', price: 12.5, quantity: 3, sku: 'UPD-1', description: 'Описание' });
    expect(updated.created_at).toBe(created.created_at);
    expect(Date.parse(updated.updated_at as string)).toBeGreaterThan(Date.parse(created.updated_at as string));
    expect((await http('GET', `/products/${String(created.id)}`)).body).toEqual(updated);
  });

  it('clears nullable fields with null', async () => {
    const created = (await http('POST', '/products', { name: 'С артикулом', price: 1, sku: 'CLR-1', category_id: categoryId })).body as { id: number };
    const response = await http('PUT', `/products/${created.id}`, { sku: null, category_id: null, description: null });
    expect(response.body).toMatchObject({ sku: null, category_id: null, category: null, description: null });
  });

  it('rejects an empty update, an id in the body, and a duplicate sku', async () => {
    const { id } = (await http('POST', '/products', { name: 'Цель', price: 1, sku: 'TARGET-1' })).body as { id: number };
    await http('POST', '/products', { name: 'Другой', price: 1, sku: 'OTHER-1' });
    const empty = await http('PUT', `/products/${id}`, {});
    expect(empty.status).toBe(422);
    expect(empty.body).toMatchObject({ issues: [{ path: [], message: expect.stringContaining('name') as string }] });
    const withId = await http('PUT', `/products/${id}`, { id: 99, name: 'X' });
    expect(withId.status).toBe(422);
    expect(withId.body).toMatchObject({ issues: [{ path: ['id'] }] });
    const duplicate = await http('PUT', `/products/${id}`, { sku: 'OTHER-1' });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body).toMatchObject({ code: 'CONFLICT' });
  });

  it('answers a missing product with 404, but a bad body first with 422', async () => {
    expect((await http('PUT', '/products/2147483647', { name: 'X' })).status).toBe(404);
    expect((await http('PUT', '/products/2147483647', { price: 'free' })).status).toBe(422);
  });
});

describe('DELETE /products/{id}', () => {
  it('answers 204 with an empty body, then the product is gone everywhere; a repeat is 404', async () => {
    const { id } = (await http('POST', '/products', { name: 'Удаляемый уникальный товар', price: 1, category_id: categoryId })).body as { id: number };
    const response = await http('DELETE', `/products/${id}`);
    expect(response.status).toBe(204);
    expect(response.text).toBe('');
    expect((await http('GET', `/products/${id}`)).status).toBe(404);
    const search = (await http('GET', `/products/search?q=${encodeURIComponent('Удаляемый уникальный')}`)).body as { total: number };
    expect(search.total).toBe(0);
    const list = (await http('GET', `/products?category_id=${categoryId}&limit=100`)).body as { items: { id: number }[] };
    expect(list.items.map((item) => item.id)).not.toContain(id);
    const again = await http('DELETE', `/products/${id}`);
    expect(again.status).toBe(404);
    expect(again.body).toEqual({ code: 'NOT_FOUND', message: `Product ${id} not found` });
  });
});

describe('the Swagger scenario of the original assignment', () => {
  it('creates three products, lists, filters by category, updates one, deletes one', async () => {
    const books = ((await http('POST', '/categories', { name: 'Книги сценария' })).body as { id: number }).id;
    const ids: number[] = [];
    for (const [name, price, category] of [
      ['Сценарий: ноутбук', 50_000, categoryId],
      ['Сценарий: книга', 500, books],
      ['Сценарий: вторая книга', 700.5, books],
    ] as const) {
      const response = await http('POST', '/products', { name, price, quantity: 5, category_id: category });
      expect(response.status).toBe(201);
      ids.push((response.body as { id: number }).id);
    }
    const all = (await http('GET', '/products?q=Сценарий&limit=100')).body as { items: { id: number }[]; total: number };
    expect(all.total).toBe(3);
    expect(all.items.map((item) => item.id)).toEqual([...ids].reverse());

    const inBooks = (await http('GET', `/products?category_id=${books}`)).body as { items: { name: string }[]; total: number };
    expect(inBooks.total).toBe(2);
    expect(inBooks.items.map((item) => item.name).sort()).toEqual(['Сценарий: вторая книга', 'Сценарий: книга']);

    const updated = await http('PUT', `/products/${ids[1]!}`, { price: 450 });
    expect(updated.status).toBe(200);
    expect((updated.body as { price: number }).price).toBe(450);

    expect((await http('DELETE', `/products/${ids[0]!}`)).status).toBe(204);
    const after = (await http('GET', '/products?q=Сценарий&limit=100')).body as { items: { id: number }[]; total: number };
    expect(after.total).toBe(2);
    expect(after.items.map((item) => item.id)).not.toContain(ids[0]);
    expect((await http('GET', `/products/${ids[0]!}`)).status).toBe(404);
  });
});
