import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startServer, type LiveServer } from './helpers.js';

let server: LiveServer;
const http = (method: string, path: string, body?: unknown) => call(server.base, method, path, body);

beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

describe('categories', () => {
  it('create answers 201 with Location and the resource; byId returns it', async () => {
    const response = await http('POST', '/categories', { name: ' Мебель ', description: 'Столы и стулья' });
    expect(response.status).toBe(201);
    const category = response.body as { id: number };
    expect(response.headers.get('location')).toBe(`/categories/${category.id}`);
    expect(category).toEqual({
      id: expect.any(Number) as number,
      name: 'Мебель',
      description: 'Столы и стулья',
      product_count: 0,
      version: 1,
      created_at: expect.any(String) as string,
      updated_at: expect.any(String) as string,
    });
    expect((await http('GET', `/categories/${category.id}`)).body).toEqual(category);
  });

  it('stores names in Unicode NFC, so a decomposed twin collides and search finds either form', async () => {
    const composed = 'Мойка «Йошкар-Ола»';
    const decomposed = composed.normalize('NFD');
    expect(decomposed).not.toBe(composed);
    const created = await http('POST', '/categories', { name: decomposed, description: 'Кухня и ванная'.normalize('NFD') });
    expect(created.body).toMatchObject({ name: composed, description: 'Кухня и ванная' });
    expect((await http('POST', '/categories', { name: composed })).status).toBe(409);
    const product = await http('POST', '/products', { name: `Смеситель ${decomposed}`, price: 1 });
    expect(product.body).toMatchObject({ name: `Смеситель ${composed}` });
    for (const q of [composed, decomposed]) {
      const found = await http('GET', `/products/search?q=${encodeURIComponent(q.slice(0, 7))}`);
      expect((found.body as { items: { name: string }[] }).items.map((item) => item.name), q).toEqual([`Смеситель ${composed}`]);
    }
  });

  it('rejects a duplicate name in any letter case with 409', async () => {
    await http('POST', '/categories', { name: 'Книги' });
    for (const name of ['книги', 'КНИГИ', ' Книги ']) {
      const response = await http('POST', '/categories', { name });
      expect(response.status).toBe(409);
      expect(response.body).toEqual({ code: 'CONFLICT', message: expect.stringContaining('name') as string });
    }
  });

  it('lists every category by name ignoring case, then id, with product counts, as a plain array', async () => {
    const alpha = (await http('POST', '/categories', { name: 'альфа' })).body as { id: number };
    await http('POST', '/categories', { name: 'Бета' });
    await http('POST', '/products', { name: 'Товар альфы', price: 1, category_id: alpha.id });
    await http('POST', '/products', { name: 'Ещё товар альфы', price: 1, category_id: alpha.id });
    const { status, body } = await http('GET', '/categories');
    expect(status).toBe(200);
    const list = body as { name: string; product_count: number }[];
    const names = list.map((c) => c.name);
    expect(names).toEqual([...names].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase(), 'ru')));
    expect(list.find((c) => c.name === 'альфа')?.product_count).toBe(2);
    expect(list.find((c) => c.name === 'Бета')?.product_count).toBe(0);
  });

  it('updates given fields; an empty update is 422; a name clash 409; a missing id 404', async () => {
    const { id } = (await http('POST', '/categories', { name: 'Одежда' })).body as { id: number };
    const updated = await http('PUT', `/categories/${id}`, { description: 'Куртки' });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ id, name: 'Одежда', description: 'Куртки' });
    expect((await http('PUT', `/categories/${id}`, {})).status).toBe(422);
    expect((await http('PUT', `/categories/${id}`, { name: 'КНИГИ' })).status).toBe(409);
    expect((await http('PUT', '/categories/2147483647', { name: 'Ничья' })).status).toBe(404);
    expect((await http('PUT', `/categories/${id}`, { name: 'я'.repeat(101) })).status).toBe(422);
  });

  it('refuses to delete a category still in use (409, nothing deleted), deletes it once empty (204), then 404', async () => {
    const { id } = (await http('POST', '/categories', { name: 'Временная' })).body as { id: number };
    const product = (await http('POST', '/products', { name: 'Держатель', price: 1, category_id: id })).body as { id: number };
    const refused = await http('DELETE', `/categories/${id}`);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'CONFLICT' });
    expect((await http('GET', `/categories/${id}`)).status).toBe(200);
    expect((await http('GET', `/products/${product.id}`)).status).toBe(200);

    await http('DELETE', `/products/${product.id}`);
    const deleted = await http('DELETE', `/categories/${id}`);
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    expect((await http('GET', `/categories/${id}`)).status).toBe(404);
    expect((await http('DELETE', `/categories/${id}`)).status).toBe(404);
  });

  it('rejects bad ids and unknown fields with 422', async () => {
    expect((await http('GET', '/categories/abc')).status).toBe(422);
    expect((await http('GET', '/categories?x=1')).status).toBe(422);
    const unknown = await http('POST', '/categories', { name: 'X', colour: 'red', product_count: 3 });
    expect(unknown.status).toBe(422);
    const paths = (unknown.body as { issues: { path: string[] }[] }).issues.map((issue) => issue.path);
    expect(paths).toContainEqual(['product_count']);
    expect(paths).toContainEqual(['colour']);
  });
});
