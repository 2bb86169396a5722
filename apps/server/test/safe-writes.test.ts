/** Contract v1.2 "safe writes": versions with ETag/If-Match/If-None-Match, over REST and tRPC, races included. */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startServer, type JsonResponse, type LiveServer } from './helpers.js';

let server: LiveServer;
const http = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => call(server.base, method, path, body, headers);
/** One tRPC mutation over HTTP (no batch): the data, or the contract's error body under `error.data`. */
const rpc = (procedure: string, input: unknown) => call(server.base, 'POST', `/trpc/${procedure}`, input);
const rpcError = (response: JsonResponse) => (response.body as { error: { data: { code: string; httpStatus: number } } }).error.data;

let sequence = 0;
async function product(fields: Record<string, unknown> = {}): Promise<{ id: number; version: number }> {
  sequence += 1;
  const response = await http('POST', '/products', { name: `Товар ${sequence}`, price: 10, quantity: 5, ...fields });
  expect(response.status).toBe(201);
  return response.body as { id: number; version: number };
}

beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

describe('versions and ETags', () => {
  it('starts at 1 and adds 1 on every change, stock changes included, and names it in ETag', async () => {
    const created = await http('POST', '/products', { name: 'Версия', price: 1 });
    expect(created.headers.get('etag')).toBe('"1"');
    const { id } = created.body as { id: number };
    expect((await http('PUT', `/products/${id}`, { price: 2 })).headers.get('etag')).toBe('"2"');
    const patched = await http('PATCH', `/products/${id}/quantity`, { delta: 3 });
    expect(patched.headers.get('etag')).toBe('"3"');
    expect(patched.body).toMatchObject({ version: 3, quantity: 3 });
    const read = await http('GET', `/products/${id}`);
    expect(read.headers.get('etag')).toBe('"3"');
    expect((read.body as { version: number }).version).toBe(3);
  });

  it('answers a matching If-None-Match with 304 and no body, on GET and HEAD, for products and categories', async () => {
    const { id } = await product();
    for (const tag of ['"1"', 'W/"1"', '"7", "1"', '*']) {
      const response = await http('GET', `/products/${id}`, undefined, { 'if-none-match': tag });
      expect(response.status, tag).toBe(304);
      expect(response.text).toBe('');
      expect(response.headers.get('etag')).toBe('"1"');
    }
    expect((await http('HEAD', `/products/${id}`, undefined, { 'if-none-match': '"1"' })).status).toBe(304);
    expect((await http('GET', `/products/${id}`, undefined, { 'if-none-match': '"2"' })).status).toBe(200);
    const category = (await http('POST', '/categories', { name: 'Кэш' })).body as { id: number };
    expect((await http('GET', `/categories/${category.id}`, undefined, { 'if-none-match': '"1"' })).status).toBe(304);
  });

  it('applies PUT, PATCH and DELETE with a matching If-Match, and answers another version with 412 changing nothing', async () => {
    const { id } = await product();
    const stale = await http('PUT', `/products/${id}`, { price: 99 }, { 'if-match': '"2"' });
    expect(stale.status).toBe(412);
    expect(stale.body).toEqual({ code: 'PRECONDITION_FAILED', message: `Product ${id} is at version 1, not 2; nothing changed` });
    expect((await http('PATCH', `/products/${id}/quantity`, { delta: -1 }, { 'if-match': '"2"' })).status).toBe(412);
    expect((await http('DELETE', `/products/${id}`, undefined, { 'if-match': '"2"' })).status).toBe(412);
    expect(await http('GET', `/products/${id}`)).toMatchObject({ status: 200, body: { price: 10, quantity: 5, version: 1 } });

    expect((await http('PUT', `/products/${id}`, { price: 11 }, { 'if-match': '"1"' })).status).toBe(200);
    expect((await http('PATCH', `/products/${id}/quantity`, { quantity: 0 }, { 'if-match': '"2"' })).status).toBe(200);
    expect((await http('PUT', `/products/${id}`, { price: 12 }, { 'if-match': '*' })).status).toBe(200);
    expect((await http('DELETE', `/products/${id}`, undefined, { 'if-match': '"4"' })).status).toBe(204);
  });

  it('does the same for categories', async () => {
    const { id } = (await http('POST', '/categories', { name: 'Условная' })).body as { id: number };
    expect((await http('PUT', `/categories/${id}`, { description: 'x' }, { 'if-match': '"5"' })).status).toBe(412);
    expect((await http('DELETE', `/categories/${id}`, undefined, { 'if-match': '"5"' })).status).toBe(412);
    const updated = await http('PUT', `/categories/${id}`, { description: 'x' }, { 'if-match': '"1"' });
    expect(updated).toMatchObject({ status: 200, body: { version: 2 } });
    expect(updated.headers.get('etag')).toBe('"2"');
    expect((await http('DELETE', `/categories/${id}`, undefined, { 'if-match': '"2"' })).status).toBe(204);
  });

  it('orders 422 → 404 → 412 → 409', async () => {
    const { id } = await product({ quantity: 1 });
    // 404 before 412: no such row, whatever the version.
    expect((await http('PUT', '/products/999999', { price: 1 }, { 'if-match': '"1"' })).status).toBe(404);
    expect((await http('DELETE', '/categories/999999', undefined, { 'if-match': '"1"' })).status).toBe(404);
    // 412 before 409: a stale version is reported even when the change would also oversell.
    expect((await http('PATCH', `/products/${id}/quantity`, { delta: -5 }, { 'if-match': '"9"' })).status).toBe(412);
    expect((await http('PATCH', `/products/${id}/quantity`, { delta: -5 }, { 'if-match': '"1"' })).status).toBe(409);
    // A category in use: a stale version is a 412, the current one the 409.
    const category = (await http('POST', '/categories', { name: 'Занятая' })).body as { id: number };
    await product({ category_id: category.id });
    expect((await http('DELETE', `/categories/${category.id}`, undefined, { 'if-match': '"3"' })).status).toBe(412);
    expect((await http('DELETE', `/categories/${category.id}`, undefined, { 'if-match': '"1"' })).status).toBe(409);
    // A malformed If-Match is a 422 naming the header; expected_version is the tRPC input, not a REST field.
    for (const tag of ['W/"1"', '"1", "2"', '1', 'abc']) {
      const response = await http('PUT', `/products/${id}`, { price: 1 }, { 'if-match': tag });
      expect(response.status, tag).toBe(422);
      expect((response.body as { issues: unknown[] }).issues).toEqual([{ path: ['If-Match'], message: expect.any(String) as string }]);
    }
    const inBody = await http('PUT', `/products/${id}`, { price: 1, expected_version: 1 });
    expect(inBody.status).toBe(422);
    expect((inBody.body as { issues: { path: string[] }[] }).issues[0]!.path).toEqual(['expected_version']);
  });

  it('takes expected_version over tRPC: 412 with the contract code when stale, the change when current', async () => {
    const { id } = await product();
    const stale = await rpc('products.update', { id, price: 3, expected_version: 2 });
    expect(stale.status).toBe(412);
    expect(rpcError(stale)).toMatchObject({ code: 'PRECONDITION_FAILED', httpStatus: 412 });
    expect((await rpc('products.adjustQuantity', { id, delta: 1, expected_version: 2 })).status).toBe(412);
    expect((await rpc('products.delete', { id, expected_version: 2 })).status).toBe(412);
    const current = await rpc('products.update', { id, price: 3, expected_version: 1 });
    expect(current.status).toBe(200);
    expect(current.body).toMatchObject({ result: { data: { price: 3, version: 2 } } });
    expect((await rpc('products.delete', { id, expected_version: 2 })).status).toBe(200);
  });

  it('lets exactly one of 20 concurrent conditional updates on one version win; the rest are 412', async () => {
    const { id } = await product();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        index % 2 ? http('PUT', `/products/${id}`, { price: 100 + index }, { 'if-match': '"1"' }) : rpc('products.adjustQuantity', { id, delta: 1, expected_version: 1 }),
      ),
    );
    const statuses = results.map((response) => response.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    expect(statuses.filter((status) => status === 412)).toHaveLength(19);
    expect(((await http('GET', `/products/${id}`)).body as { version: number }).version).toBe(2);
  });
});

describe('idempotency keys', () => {
  const key = () => `key-${Math.random().toString(36).slice(2)}`;

  it('replays a repeated POST /products with the same key and body: same status, body and Location, one product', async () => {
    const headers = { 'idempotency-key': key() };
    const body = { name: 'Идемпотентный', price: 5, sku: `IDEM-${sequence}` };
    const first = await http('POST', '/products', body, headers);
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    // The same request again, spelled differently (key order, spacing): replayed, not run.
    const again = await http('POST', '/products', JSON.stringify({ sku: body.sku, price: 5, name: ' Идемпотентный ' }), headers);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('location')).toBe(first.headers.get('location'));
    expect(again.body).toEqual(first.body);
    const { total } = (await http('GET', `/products?q=${encodeURIComponent('Идемпотентный')}`)).body as { total: number };
    expect(total).toBe(1);
  });

  it('replays the first response even after the resource changed, and changes nothing', async () => {
    const headers = { 'idempotency-key': key() };
    const first = await http('POST', '/categories', { name: 'Повтор' }, headers);
    const { id } = first.body as { id: number };
    await http('PUT', `/categories/${id}`, { description: 'позже' });
    const again = await http('POST', '/categories', { name: 'Повтор' }, headers);
    expect(again).toMatchObject({ status: 201, body: first.body });
    expect(((await http('GET', `/categories/${id}`)).body as { version: number }).version).toBe(2);
  });

  it('replays a product create as it answered, its category included, after the product changed', async () => {
    const headers = { 'idempotency-key': key() };
    const name = `Повтор ${key()}`;
    const category = (await http('POST', '/categories', { name })).body as { id: number };
    const body = { name: 'Повтор товара', price: 1234.5, quantity: 2, category_id: category.id, description: 'первый' };
    const first = await http('POST', '/products', body, headers);
    expect((first.body as { category: unknown }).category).toEqual({ id: category.id, name });
    await http('PATCH', `/products/${(first.body as { id: number }).id}/quantity`, { delta: 3 });
    const again = await http('POST', '/products', body, headers);
    expect(again).toMatchObject({ status: 201, body: first.body });
    expect(again.headers.get('location')).toBe(first.headers.get('location'));
  });

  it('answers the same key with another body, or on another operation, with 422 at path []', async () => {
    const headers = { 'idempotency-key': key() };
    expect((await http('POST', '/products', { name: 'Первый', price: 1 }, headers)).status).toBe(201);
    for (const [path, body] of [
      ['/products', { name: 'Второй', price: 1 }],
      ['/categories', { name: 'Первый' }],
    ] as const) {
      const reused = await http('POST', path, body, headers);
      expect(reused.status).toBe(422);
      expect(reused.body).toMatchObject({ code: 'UNPROCESSABLE_CONTENT', issues: [{ path: [], message: expect.stringContaining('Idempotency-Key') as string }] });
    }
  });

  it('stores nothing for a failed request: a retry with the key runs again', async () => {
    const headers = { 'idempotency-key': key() };
    const sku = `FAIL-${sequence}`;
    await product({ sku });
    expect((await http('POST', '/products', { name: 'Дубль', price: 1, sku }, headers)).status).toBe(409);
    expect((await http('POST', '/products', { name: 'Дубль', price: 1, sku }, headers)).status).toBe(409);
  });

  it('refuses a key that is not 1–255 printable ASCII characters', async () => {
    const response = await http('POST', '/products', { name: 'Ключ', price: 1 }, { 'idempotency-key': 'x'.repeat(256) });
    expect(response.status).toBe(422);
    expect((response.body as { issues: { path: string[] }[] }).issues[0]!.path).toEqual(['Idempotency-Key']);
  });

  it('creates one product when 10 requests race with one new key: the rest replay it or get 409', async () => {
    const headers = { 'idempotency-key': key() };
    const sku = `RACE-${sequence}`;
    const results = await Promise.all(Array.from({ length: 10 }, () => http('POST', '/products', { name: 'Гонка', price: 1, sku }, headers)));
    const statuses = results.map((response) => response.status).sort();
    expect(statuses.every((status) => status === 201 || status === 409), statuses.join()).toBe(true);
    const fresh = results.filter((response) => response.status === 201 && response.headers.get('idempotent-replayed') === null);
    expect(fresh).toHaveLength(1);
    for (const response of results.filter((r) => r.status === 409)) expect((response.body as { message: string }).message).toMatch(/still running/);
    expect(await server.db.query('SELECT count(*)::int AS count FROM products WHERE sku = $1', [sku])).toEqual([{ count: 1 }]);
  });

  it('keeps keys in PostgreSQL: another server on the same database replays them', async () => {
    const headers = { 'idempotency-key': key() };
    const first = await http('POST', '/categories', { name: 'Общая' }, headers);
    const other = await startServer({ db: server.db });
    try {
      const again = await call(other.base, 'POST', '/categories', { name: 'Общая' }, headers);
      expect(again).toMatchObject({ status: 201, body: first.body });
      expect(again.headers.get('idempotent-replayed')).toBe('true');
    } finally {
      await other.close();
    }
  });

  it('treats keys older than 24 hours as absent and purges them', async () => {
    const headers = { 'idempotency-key': key() };
    const first = await http('POST', '/categories', { name: 'Старая' }, headers);
    await server.db.query("UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = $1", [headers['idempotency-key']]);
    const again = await http('POST', '/categories', { name: 'Старая' }, headers);
    expect(again.status).toBe(409);
    expect((again.body as { message: string }).message).not.toMatch(/Idempotency/);
    await server.db.query("UPDATE idempotency_keys SET created_at = now() - interval '25 hours'");
    const { purgeIdempotencyKeys } = await import('@tradeos/db');
    expect(await purgeIdempotencyKeys(server.db, 2)).toBeGreaterThan(2);
    expect(await server.db.query('SELECT 1 FROM idempotency_keys')).toEqual([]);
    expect(first.status).toBe(201);
  });

  it('scopes keys to the caller’s API key when write protection is on', async () => {
    const guarded = await startServer({ db: server.db, apiKeys: ['alpha', 'beta'] });
    try {
      const headers = { 'idempotency-key': 'shared-key' };
      const alpha = await call(guarded.base, 'POST', '/categories', { name: 'Альфа' }, { ...headers, authorization: 'Bearer alpha' });
      const beta = await call(guarded.base, 'POST', '/categories', { name: 'Альфа' }, { ...headers, authorization: 'Bearer beta' });
      expect(alpha.status).toBe(201);
      // Another caller's key of the same name is its own: this request runs (and meets the name's 409).
      expect(beta.status).toBe(409);
      expect(beta.headers.get('idempotent-replayed')).toBeNull();
    } finally {
      await guarded.close();
    }
  });

  it('takes the key over tRPC as the Idempotency-Key header', async () => {
    const headers = { 'idempotency-key': key() };
    const first = await call(server.base, 'POST', '/trpc/categories.create', { name: 'РПЦ' }, headers);
    const again = await call(server.base, 'POST', '/trpc/categories.create', { name: 'РПЦ' }, headers);
    expect(first.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
  });
});

describe('POST /products/bulk', () => {
  let categoryId: number;
  beforeAll(async () => {
    categoryId = ((await http('POST', '/categories', { name: 'Оптовая' })).body as { id: number }).id;
  });

  it('creates and updates by sku in one call, only the fields given, and says what happened to each in input order', async () => {
    const existing = await product({ sku: 'BULK-1', description: 'остаётся', quantity: 7 });
    const unchanged = await product({ sku: 'BULK-3', name: 'Как есть', price: 3 });
    const response = await http('POST', '/products/bulk', {
      items: [
        { sku: 'BULK-2', name: 'Новый', price: 2.5, category: 'оптовая' },
        { sku: 'BULK-1', name: 'Обновлённый', price: 1.99 },
        { sku: 'BULK-3', name: 'Как есть', price: 3 },
      ],
    });
    expect(response.status).toBe(200);
    const created = (response.body as { items: { id: number }[] }).items[0]!.id;
    expect(response.body).toEqual({
      created: 1,
      updated: 1,
      unchanged: 1,
      items: [
        { sku: 'BULK-2', id: created, status: 'created' },
        { sku: 'BULK-1', id: existing.id, status: 'updated' },
        { sku: 'BULK-3', id: unchanged.id, status: 'unchanged' },
      ],
    });
    expect((await http('GET', `/products/${existing.id}`)).body).toMatchObject({ name: 'Обновлённый', price: 1.99, description: 'остаётся', quantity: 7, version: 2 });
    expect((await http('GET', `/products/${created}`)).body).toMatchObject({ quantity: 0, description: null, category: { id: categoryId, name: 'Оптовая' }, version: 1 });
    expect(((await http('GET', `/products/${unchanged.id}`)).body as { version: number }).version).toBe(1);
  });

  it('refuses a bad item with its path, and writes nothing', async () => {
    const cases: [unknown[], (string | number)[]][] = [
      [[{ sku: 'OK-1', name: 'a', price: 1 }, { sku: 'OK-2', name: 'b', price: 1.234 }], ['items', 1, 'price']],
      [[{ sku: 'OK-1', name: 'a', price: 1 }, { sku: 'OK-1', name: 'b', price: 1 }], ['items', 1, 'sku']],
      [[{ sku: 'OK-1', name: 'a', price: 1 }, { name: 'b', price: 1 }], ['items', 1, 'sku']],
      [[{ sku: 'OK-1', name: 'a', price: 1, category: 'Нет такой' }], ['items', 0, 'category']],
      [[{ sku: 'OK-1', name: 'a', price: 1 }, { sku: 'OK-2', name: 'b', price: 1, category_id: 999999 }], ['items', 1, 'category_id']],
    ];
    for (const [items, path] of cases) {
      const response = await http('POST', '/products/bulk', { items });
      expect(response.status, JSON.stringify(items)).toBe(422);
      expect((response.body as { issues: { path: unknown[] }[] }).issues[0]!.path).toEqual(path);
    }
    expect((await http('POST', '/products/bulk', { items: [] })).status).toBe(422);
    expect(((await http('GET', '/products?q=OK-')).body as { total: number }).total).toBe(0);
    expect(await server.db.query("SELECT 1 FROM products WHERE sku LIKE 'OK-%'")).toEqual([]);
  });

  it('takes 1000 items just under 1 MiB in one request, and refuses a 1001st item', async () => {
    const items = Array.from({ length: 1000 }, (_, index) => ({ sku: `BIG-${index}`, name: `Крупный ${index}`, price: index, description: 'д'.repeat(450) }));
    expect(Buffer.byteLength(JSON.stringify({ items }))).toBeGreaterThan(900 * 1024);
    const response = await http('POST', '/products/bulk', { items });
    expect(response.status).toBe(200);
    expect((response.body as { created: number }).created).toBe(1000);
    expect((await http('POST', '/products/bulk', { items: [...items.slice(0, 999), { sku: 'BIG-X', name: 'x', price: 1 }, { sku: 'BIG-Y', name: 'y', price: 1 }] })).status).toBe(422);
  });

  it('answers a body over 1 MiB with 413 as every route does, before 100 Continue when curl announces it', async () => {
    const items = Array.from({ length: 600 }, (_, index) => ({ sku: `CONT-${index}`, name: `Продолжение ${index}`, price: 1, description: 'ж'.repeat(1000) }));
    const body = Buffer.from(JSON.stringify({ items }));
    expect(body.length).toBeGreaterThan(1024 * 1024);
    const post = (announce: boolean) =>
      new Promise<{ status: number; continued: boolean; body: string }>((resolve, reject) => {
        let continued = false;
        const request = httpRequest(`${server.base}/products/bulk`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': body.length, ...(announce && { expect: '100-continue' }) },
        });
        request.on('continue', () => {
          continued = true;
          request.end(body);
        });
        request.on('response', (response) => {
          let text = '';
          response.on('data', (chunk: Buffer) => (text += chunk.toString()));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, continued, body: text }));
        });
        request.on('error', reject);
        if (!announce) request.end(body);
      });
    const refused = { code: 'PAYLOAD_TOO_LARGE', message: 'The request body exceeds 1 MiB' };
    const announced = await post(true);
    expect([announced.status, announced.continued, JSON.parse(announced.body)]).toEqual([413, false, refused]);
    const sent = await post(false);
    expect([sent.status, JSON.parse(sent.body)]).toEqual([413, refused]);
    expect(await server.db.query("SELECT 1 FROM products WHERE sku LIKE 'CONT-%'")).toEqual([]);
  });

  it('replays with an Idempotency-Key, and works over tRPC as products.upsertMany', async () => {
    const headers = { 'idempotency-key': 'bulk-once' };
    const body = { items: [{ sku: 'KEYED-1', name: 'Ключевой', price: 1 }] };
    const first = await http('POST', '/products/bulk', body, headers);
    const again = await http('POST', '/products/bulk', body, headers);
    expect(again).toMatchObject({ status: 200, body: first.body });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const viaRpc = await rpc('products.upsertMany', { items: [{ sku: 'KEYED-1', name: 'Ключевой', price: 2 }] });
    expect(viaRpc.body).toMatchObject({ result: { data: { updated: 1, items: [{ sku: 'KEYED-1', status: 'updated' }] } } });
  });

  it('races overlapping bulks without a duplicate sku, a deadlock or a lost update', async () => {
    const skus = Array.from({ length: 50 }, (_, index) => `OVER-${index}`);
    // Each bulk writes every sku (in its own order) and adds its own quantity: afterwards each row holds one of them, whole.
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, run) =>
        http('POST', '/products/bulk', { items: (run % 2 ? [...skus].reverse() : skus).map((sku) => ({ sku, name: `Прогон ${run}`, price: run, quantity: run })) }),
      ),
    );
    expect(results.map((response) => response.status)).toEqual(Array(8).fill(200));
    const rows = await server.db.query<{ sku: string; name: string; price: string; quantity: number; version: number }>(
      "SELECT sku, name, price, quantity, version FROM products WHERE sku LIKE 'OVER-%'",
    );
    expect(rows).toHaveLength(50);
    for (const row of rows) expect(row.name).toBe(`Прогон ${row.quantity}`);
    // Every bulk that changed a row gave it a new version: created once, then one version per real update.
    const changes = results.flatMap((response) => (response.body as { items: { sku: string; status: string }[] }).items);
    for (const row of rows) {
      const updates = changes.filter((change) => change.sku === row.sku && change.status === 'updated').length;
      expect(row.version, row.sku).toBe(1 + updates);
    }
  });
});

describe('cursor paging', () => {
  type Page = { items: { id: number; name: string }[]; total: number; skip: number; next_cursor: string | null };
  const page = async (path: string): Promise<Page> => {
    const response = await http('GET', path);
    expect(response.status, `${path}: ${response.text}`).toBe(200);
    return response.body as Page;
  };
  /** Every id of a query, page by page through `next_cursor`. */
  async function walk(path: string, limit: number, between?: () => Promise<void>): Promise<number[]> {
    const ids: number[] = [];
    let current = await page(`${path}&limit=${limit}`);
    for (;;) {
      ids.push(...current.items.map((item) => item.id));
      if (!current.next_cursor) return ids;
      await between?.();
      current = await page(`${path}&limit=${limit}&cursor=${current.next_cursor}`);
    }
  }

  beforeAll(async () => {
    expect((await http('POST', '/categories', { name: 'Курсоры' })).status).toBe(201);
    const items = Array.from({ length: 37 }, (_, index) => ({
      category: 'Курсоры',
      sku: `CUR-${index}`,
      // Repeated names, prices and quantities: ties that only the id breaks.
      name: index % 5 === 0 ? 'Курсор' : `Курсор ${index % 7}`,
      price: index % 4,
      quantity: index % 3,
    }));
    expect((await http('POST', '/products/bulk', { items })).status).toBe(200);
  });

  it('walks every row once, in the order skip paging gives, for every sort key and order, with next_cursor null at the end', async () => {
    for (const sortBy of ['id', 'name', 'price', 'quantity', 'created_at', 'updated_at']) {
      for (const order of ['asc', 'desc']) {
        const query = `/products?q=${encodeURIComponent('Курсор')}&sort_by=${sortBy}&order=${order}`;
        const all = await page(`${query}&limit=100`);
        expect(all.total).toBe(37);
        expect(all.next_cursor).toBeNull();
        expect(await walk(query, 5), `${sortBy} ${order}`).toEqual(all.items.map((item) => item.id));
      }
    }
  });

  it('walks search results best match first, and a category by name', async () => {
    const query = `/products/search?q=${encodeURIComponent('курсор')}`;
    const all = await page(`${query}&limit=100`);
    expect(all.items.slice(0, 8).every((item) => item.name === 'Курсор')).toBe(true);
    expect(await walk(query, 4)).toEqual(all.items.map((item) => item.id));
    const byCategory = `/products/category/${encodeURIComponent('курсоры')}?sort_by=name`;
    expect(await walk(byCategory, 10)).toEqual((await page(`${byCategory}&limit=100`)).items.map((item) => item.id));
  });

  it('keeps the total of every match on every page, and reports skip 0', async () => {
    const first = await page(`/products?q=${encodeURIComponent('Курсор')}&limit=10`);
    const second = await page(`/products?q=${encodeURIComponent('Курсор')}&limit=10&cursor=${first.next_cursor!}`);
    expect(second).toMatchObject({ total: 37, skip: 0 });
  });

  it('never repeats or drops a row that stands while others are inserted and deleted between pages', async () => {
    const query = `/products?q=${encodeURIComponent('Курсор')}&sort_by=price&order=asc`;
    const before = (await page(`${query}&limit=100`)).items.map((item) => item.id);
    let round = 0;
    const victims = [...before].reverse();
    const seen = await walk(query, 6, async () => {
      round += 1;
      await http('POST', '/products', { name: `Курсор вставка ${round}`, price: round % 4 });
      await http('DELETE', `/products/${victims[round]!}`);
    });
    expect(new Set(seen).size).toBe(seen.length);
    const deleted = new Set(victims.slice(1, round + 1));
    for (const id of before.filter((id) => !deleted.has(id))) expect(seen).toContain(id);
  });

  it('refuses a cursor with skip, a tampered one, and one from other filters or another sort, with 422 at cursor', async () => {
    const query = `/products?q=${encodeURIComponent('Курсор')}&limit=3`;
    const { next_cursor: cursor } = await page(query);
    const both = await http('GET', `${query}&cursor=${cursor!}&skip=0`);
    expect(both.status).toBe(422);
    const tampered = `${cursor!.slice(0, -2)}${cursor!.endsWith('A') ? 'B' : 'A'}A`;
    for (const path of [`${query}&cursor=${tampered}`, `${query}&cursor=nonsense`, `${query}&sort_by=price&cursor=${cursor!}`, `/products?limit=3&cursor=${cursor!}`]) {
      const response = await http('GET', path);
      expect(response.status, path).toBe(422);
      expect((response.body as { issues: { path: string[] }[] }).issues[0]!.path).toEqual(['cursor']);
    }
  });

  it('pages by cursor over tRPC too', async () => {
    const input = (cursor?: string) => encodeURIComponent(JSON.stringify({ q: 'Курсор', limit: 20, ...(cursor && { cursor }) }));
    const first = await http('GET', `/trpc/products.list?input=${input()}`);
    const { next_cursor: cursor } = (first.body as { result: { data: Page } }).result.data;
    const second = await http('GET', `/trpc/products.list?input=${input(cursor!)}`);
    expect((second.body as { result: { data: Page } }).result.data.items).toHaveLength(17);
  });
});

describe('the OpenAPI document', () => {
  it('declares the v1.2 headers and statuses where they apply', async () => {
    type Op = { parameters?: { $ref?: string; name?: string }[]; responses: Record<string, { headers?: Record<string, unknown> }> };
    const { paths } = (await http('GET', '/openapi.json')).body as { paths: Record<string, Record<string, Op>> };
    const refs = (op: Op) => (op.parameters ?? []).map((parameter) => parameter.$ref ?? parameter.name);
    for (const [path, method] of [['/products', 'post'], ['/categories', 'post'], ['/products/bulk', 'post']] as const) {
      expect(refs(paths[path]![method]!)).toContain('#/components/parameters/IdempotencyKey');
      expect(Object.keys(paths[path]![method]!.responses[path === '/products/bulk' ? '200' : '201']!.headers!)).toContain('Idempotent-Replayed');
    }
    for (const [path, method] of [['/products/{id}', 'put'], ['/products/{id}/quantity', 'patch'], ['/products/{id}', 'delete'], ['/categories/{id}', 'put'], ['/categories/{id}', 'delete']] as const) {
      const op = paths[path]![method]!;
      expect(refs(op)).toContain('#/components/parameters/IfMatch');
      expect(refs(op)).not.toContain('expected_version');
      expect(op.responses['412']).toBeDefined();
    }
    for (const path of ['/products/{id}', '/categories/{id}']) {
      expect(refs(paths[path]!.get!)).toContain('#/components/parameters/IfNoneMatch');
      expect(Object.keys(paths[path]!.get!.responses['200']!.headers!)).toContain('ETag');
      expect(paths[path]!.get!.responses['304']).toBeDefined();
    }
    expect(refs(paths['/products']!.get!)).toContain('cursor');
  });
});
