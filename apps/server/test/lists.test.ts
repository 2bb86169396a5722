import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startServer, type LiveServer } from './helpers.js';

let server: LiveServer;
const http = (method: string, path: string, body?: unknown) => call(server.base, method, path, body);
interface Page {
  items: { id: number; name: string; price: number; quantity: number; category_id: number | null }[];
  total: number;
  skip: number;
  limit: number;
}
const list = async (path: string) => {
  const response = await http('GET', path);
  expect(response.status, `${path}: ${response.text}`).toBe(200);
  return response.body as Page;
};

let electronics: number;
let books: number;

beforeAll(async () => {
  server = await startServer();
  electronics = ((await http('POST', '/categories', { name: 'Электроника' })).body as { id: number }).id;
  books = ((await http('POST', '/categories', { name: 'Книги' })).body as { id: number }).id;
  const products = [
    { name: 'Ноутбук Lenovo IdeaPad 5', price: 74_990.5, quantity: 3, category_id: electronics },
    { name: 'ноутбук', price: 10_000, quantity: 0, category_id: electronics },
    { name: 'Игровой ноутбук ASUS', price: 120_000, quantity: 1, category_id: electronics },
    { name: 'Смартфон Samsung', price: 30_000, quantity: 5, category_id: electronics },
    { name: 'Скидка 100% на всё', price: 1, quantity: 1, category_id: null },
    { name: 'Скидка 1000 рублей', price: 2, quantity: 1, category_id: null },
    { name: 'snake_case книга', price: 500, quantity: 2, category_id: books },
    { name: 'snakeXcase книга', price: 500, quantity: 2, category_id: books },
    { name: 'Путь C:\\Windows', price: 3, quantity: 0, category_id: null },
  ];
  for (const product of products) expect((await http('POST', '/products', product)).status).toBe(201);
});
afterAll(() => server.close());

describe('GET /products', () => {
  it('caps skip at 10 000, so a deep page cannot cost unbounded database time', async () => {
    expect((await list('/products?skip=10000')).items).toEqual([]);
    const deeper = await http('GET', '/products?skip=10001&sort_by=name');
    expect(deeper.body).toMatchObject({ issues: [{ path: ['skip'], message: expect.stringMatching(/at most 10000/) as string }] });
  });

  it('returns the envelope with defaults: newest first, skip 0, limit 20', async () => {
    const page = await list('/products');
    expect(page).toMatchObject({ skip: 0, limit: 20, total: 9 });
    expect(page.items[0]!.name).toBe('Путь C:\\Windows');
    const ids = page.items.map((item) => item.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
  });

  it('filters, alone and combined, and counts every match in total', async () => {
    expect((await list(`/products?category_id=${electronics}`)).total).toBe(4);
    expect((await list('/products?category=%D0%BA%D0%BD%D0%B8%D0%B3%D0%B8')).total).toBe(2);
    expect((await list('/products?category=Nowhere')).total).toBe(0);
    expect((await list('/products?min_price=500&max_price=30000')).total).toBe(4);
    expect((await list('/products?in_stock=false')).items.map((item) => item.quantity)).toEqual([0, 0]);
    expect((await list('/products?in_stock=true')).total).toBe(7);
    expect((await list(`/products?q=${encodeURIComponent('НОУТБУК')}`)).total).toBe(3);
    const combined = await list(`/products?category_id=${electronics}&min_price=10000&in_stock=true&q=ноутбук&limit=1`);
    expect(combined.total).toBe(2);
    expect(combined.items).toHaveLength(1);
  });

  it('sorts by each whitelisted key in both directions, ties by id in the same direction', async () => {
    for (const key of ['id', 'name', 'price', 'quantity', 'created_at', 'updated_at']) {
      for (const order of ['asc', 'desc'] as const) {
        const page = await list(`/products?sort_by=${key}&order=${order}&limit=100`);
        const sign = order === 'asc' ? 1 : -1;
        const values = page.items.map((item) => [(item as unknown as Record<string, number | string>)[key]!, item.id] as const);
        for (let i = 1; i < values.length; i += 1) {
          const [a, aId] = values[i - 1]!;
          const [b, bId] = values[i]!;
          const cmp = a < b ? -1 : a > b ? 1 : 0;
          expect(cmp * sign === 1 || (cmp === 0 && (aId - bId) * sign > 0), `${key} ${order} at ${i}`).toBe(false);
        }
      }
    }
  });

  it.each([
    ['skip=-1', 'skip'],
    ['skip=10001', 'skip'],
    ['skip=2147483647', 'skip'],
    ['limit=0', 'limit'],
    ['limit=101', 'limit'],
    ['limit=abc', 'limit'],
    ['min_price=', 'min_price'],
    ['min_price=abc', 'min_price'],
    ['max_price=-1', 'max_price'],
    ['min_price=10&max_price=5', 'min_price'],
    ['in_stock=yes', 'in_stock'],
    ['in_stock=', 'in_stock'],
    ['category_id=0', 'category_id'],
    ['sort_by=price;DROP TABLE products', 'sort_by'],
    ['sort_by=description', 'sort_by'],
    ['order=sideways', 'order'],
    ['page=2', 'page'],
    ['limit=1&limit=2', 'limit'],
  ])('rejects %s with 422 naming %s, never 500, data unchanged', async (query, field) => {
    const response = await http('GET', `/products?${query}`);
    expect(response.status).toBe(422);
    expect(response.body).toMatchObject({ code: 'UNPROCESSABLE_CONTENT', issues: [{ path: [field] }] });
    expect((await list('/products')).total).toBe(9);
  });
});

describe('GET /products/search', () => {
  it('requires q, trimmed, 1–100 characters', async () => {
    for (const query of ['', '?q=', '?q=%20%20', `?q=${'я'.repeat(101)}`]) {
      const response = await http('GET', `/products/search${query}`);
      expect(response.status, query).toBe(422);
      expect(response.body).toMatchObject({ issues: [{ path: ['q'] }] });
    }
  });

  it('folds Cyrillic case and orders by relevance: exact, prefix, substring, ties by name', async () => {
    const page = await list(`/products/search?q=${encodeURIComponent('НОУТБУК')}`);
    expect(page.items.map((item) => item.name)).toEqual(['ноутбук', 'Ноутбук Lenovo IdeaPad 5', 'Игровой ноутбук ASUS']);
    const sorted = await list(`/products/search?q=${encodeURIComponent('ноутбук')}&sort_by=price&order=asc`);
    expect(sorted.items.map((item) => item.price)).toEqual([10_000, 74_990.5, 120_000]);
  });

  it('matches %, _ and \\ literally', async () => {
    expect((await list('/products/search?q=100%25')).items.map((item) => item.name)).toEqual(['Скидка 100% на всё']);
    expect((await list('/products/search?q=snake_case')).items.map((item) => item.name)).toEqual(['snake_case книга']);
    expect((await list(`/products/search?q=${encodeURIComponent('C:\\W')}`)).total).toBe(1);
    expect((await list(`/products/search?q=${encodeURIComponent("' OR 1=1 --")}`)).total).toBe(0);
  });

  it('takes the list filters and paging', async () => {
    const page = await list(`/products/search?q=${encodeURIComponent('ноутбук')}&in_stock=true&limit=1&skip=1`);
    expect(page).toMatchObject({ total: 2, skip: 1, limit: 1 });
  });
});

describe('GET /products/category/{category}', () => {
  it('lists by category name in any letter case, URL-encoded, with list parameters', async () => {
    const page = await list(`/products/category/${encodeURIComponent('ЭЛЕКТРОНИКА')}?sort_by=price&order=asc&limit=2`);
    expect(page.total).toBe(4);
    expect(page.items.map((item) => item.price)).toEqual([10_000, 30_000]);
  });

  it('answers an unknown category with 404 and bad parameters with 422', async () => {
    const missing = await http('GET', '/products/category/Nowhere');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ code: 'NOT_FOUND' });
    expect((await http('GET', '/products/category/Книги?limit=0')).status).toBe(422);
  });
});

describe('count=exact|estimated|none', () => {
  it('keeps the envelope as it was without count, and adds total_is_estimate whenever count is given', async () => {
    expect(await list('/products')).not.toHaveProperty('total_is_estimate');
    for (const path of ['/products', `/products?category_id=${electronics}`, '/products/search?q=%D0%BD%D0%BE%D1%83%D1%82%D0%B1%D1%83%D0%BA', '/products/category/%D0%9A%D0%BD%D0%B8%D0%B3%D0%B8']) {
      const plain = await list(path);
      const joiner = path.includes('?') ? '&' : '?';
      expect(await list(`${path}${joiner}count=exact`)).toEqual({ ...plain, total_is_estimate: false });
      expect(await list(`${path}${joiner}count=estimated`)).toEqual({ ...plain, total_is_estimate: false });
      expect(await list(`${path}${joiner}count=none`)).toEqual({ ...plain, total: null, total_is_estimate: false });
    }
  });

  it('refuses any other count, as tRPC does', async () => {
    expect((await http('GET', '/products?count=approximate')).status).toBe(422);
    const input = encodeURIComponent(JSON.stringify({ count: 'none', limit: 1 }));
    const response = await http('GET', `/trpc/products.list?input=${input}`);
    expect(response.body).toMatchObject({ result: { data: { total: null, total_is_estimate: false, limit: 1 } } });
  });
});

describe('stable paging', () => {
  it('pages through 25 rows with identical prices without repeating or dropping one', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 25; i += 1) {
      ids.push(((await http('POST', '/products', { name: `Одинаковая цена ${i}`, price: 777, category_id: books })).body as { id: number }).id);
    }
    for (const order of ['asc', 'desc'] as const) {
      const seen: number[] = [];
      for (let skip = 0; skip < 30; skip += 7) {
        const page = await list(`/products?category_id=${books}&min_price=777&max_price=777&sort_by=price&order=${order}&limit=7&skip=${skip}`);
        expect(page.total).toBe(25);
        seen.push(...page.items.map((item) => item.id));
      }
      expect(seen).toEqual(order === 'asc' ? ids : [...ids].reverse());
    }
  });
});

describe('PATCH /products/{id}/quantity', () => {
  it('sets, increments and decrements; refuses to go below 0 with 409 and no change', async () => {
    const { id, updated_at } = (await http('POST', '/products', { name: 'Склад', price: 1, quantity: 5 })).body as { id: number; updated_at: string };
    const set = await http('PATCH', `/products/${id}/quantity`, { quantity: 10 });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ quantity: 10, in_stock: true });
    expect(Date.parse((set.body as { updated_at: string }).updated_at)).toBeGreaterThanOrEqual(Date.parse(updated_at));
    expect((await http('PATCH', `/products/${id}/quantity`, { delta: 5 })).body).toMatchObject({ quantity: 15 });
    expect((await http('PATCH', `/products/${id}/quantity`, { delta: -15 })).body).toMatchObject({ quantity: 0, in_stock: false });
    const refused = await http('PATCH', `/products/${id}/quantity`, { delta: -1 });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'CONFLICT' });
    expect((await http('GET', `/products/${id}`)).body).toMatchObject({ quantity: 0 });
  });

  it.each([
    [{}, []],
    [{ delta: 1, quantity: 1 }, ['delta', 'quantity']],
    [{ delta: 1.5 }, ['delta']],
    [{ quantity: -1 }, ['quantity']],
    [{ delta: '1' }, ['delta']],
    [{ delta: 1, extra: true }, ['extra']],
  ])('rejects %j with 422 naming %j', async (body, path) => {
    const response = await http('PATCH', '/products/1/quantity', body);
    expect(response.status).toBe(422);
    expect((response.body as { issues: { path: unknown[] }[] }).issues.map((issue) => issue.path)).toContainEqual(path);
  });

  it('never oversells: 100 parallel decrements against 50 in stock give 50 successes and 50 conflicts', async () => {
    const { id } = (await http('POST', '/products', { name: 'Дефицит', price: 1, quantity: 50 })).body as { id: number };
    const responses = await Promise.all(Array.from({ length: 100 }, () => http('PATCH', `/products/${id}/quantity`, { delta: -1 })));
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(50);
    expect(statuses.filter((status) => status === 409)).toHaveLength(50);
    // Each success saw its own decrement: every level from 49 down to 0 exactly once.
    const levels = responses.flatMap((response) => (response.status === 200 ? [(response.body as { quantity: number }).quantity] : []));
    expect(levels.sort((a, b) => b - a)).toEqual(Array.from({ length: 50 }, (_, i) => 49 - i));
    expect((await http('GET', `/products/${id}`)).body).toMatchObject({ quantity: 0, in_stock: false });
  });
});
