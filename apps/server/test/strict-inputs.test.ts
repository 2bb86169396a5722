/**
 * Contract v1.3 "strict where v1.2 was lenient" (issue 27): undecodable query escapes, Last-Event-ID, repeated
 * single-valued headers, strict base64url cursors, tRPC batches however spelled, impossible versions, stock overflow.
 */
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { INT32_MAX } from '@tradeos/contract';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { call, startServer, type JsonResponse, type LiveServer } from './helpers.js';

let server: LiveServer;
const apps: FastifyInstance[] = [];
const http = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => call(server.base, method, path, body, headers);
const rpc = (procedure: string, input: unknown) => call(server.base, 'POST', `/trpc/${procedure}`, input);
const rpcError = (response: JsonResponse) => (response.body as { error: { data: { code: string; httpStatus: number; issues?: unknown } } }).error.data;

let sequence = 0;
async function product(fields: Record<string, unknown> = {}): Promise<{ id: number; version: number }> {
  sequence += 1;
  const response = await http('POST', '/products', { name: `Строгий ${sequence}`, price: 10, quantity: 5, ...fields });
  expect(response.status).toBe(201);
  return response.body as { id: number; version: number };
}

/** The status and JSON body of a request whose headers may repeat (fetch joins repeats into one line; node:http sends each). */
function repeated(method: string, path: string, headers: Record<string, string[]>, body?: unknown): Promise<{ status: number; requestId: unknown; body: unknown }> {
  const url = new URL(path, server.base);
  return new Promise((resolve, reject) => {
    const sent = httpRequest(url, { method, headers: { ...headers, ...(body !== undefined && { 'content-type': 'application/json' }) } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: response.statusCode ?? 0, requestId: response.headers['x-request-id'], body: text ? JSON.parse(text) : undefined });
      });
    });
    sent.on('error', reject);
    sent.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** The status (and body, unless a stream opened) of GET /events/stream; an opened stream is closed at once. */
async function openStream(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
  const controller = new AbortController();
  const response = await fetch(`${server.base}${path}`, { headers, signal: controller.signal });
  if (response.headers.get('content-type')?.startsWith('text/event-stream')) {
    controller.abort();
    return { status: response.status, body: undefined };
  }
  return { status: response.status, body: await response.json() };
}

async function serve(options: Omit<Parameters<typeof buildApp>[0], 'db'>): Promise<string> {
  const app = buildApp({ db: server.db, ...options });
  apps.push(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await server.close();
});

describe('an undecodable percent-escape in the query string', () => {
  it('is a 400 in the contract shape with X-Request-Id, on every route, as in the path', async () => {
    for (const query of ['q=%FF', 'q=%ZZ', 'q=%C3%28', 'q=100%', '%FF=1']) {
      for (const path of ['/products/search', '/products', '/events']) {
        const response = await http('GET', `${path}?${query}`);
        expect(response.status, `${path}?${query}`).toBe(400);
        expect(response.body).toEqual({ code: 'BAD_REQUEST', message: 'The URL is not valid percent-encoded UTF-8' });
        expect(response.headers.get('x-request-id')).toBeTruthy();
      }
    }
  });

  it('still serves percent-encoded UTF-8, and + as a space', async () => {
    await product({ name: 'Ноутбук строгий' });
    const response = await http('GET', `/products/search?q=${encodeURIComponent('ноутбук')}+${encodeURIComponent('строгий')}`);
    expect(response.status).toBe(200);
    expect((response.body as { items: { name: string }[] }).items.map((item) => item.name)).toEqual(['Ноутбук строгий']);
  });
});

describe('Last-Event-ID', () => {
  it('is validated like after: a bad one is a 422 at [], never ignored', async () => {
    for (const bad of ['abc', '-1', '1e5', '1'.repeat(23), '']) {
      const response = await openStream('/events/stream?after=0', { 'last-event-id': bad });
      expect(response.status, bad).toBe(422);
      expect(response.body).toMatchObject({ code: 'UNPROCESSABLE_CONTENT', issues: [{ path: [], message: expect.stringContaining('Last-Event-ID') as string }] });
    }
    expect((await openStream('/events/stream?after=0', { 'last-event-id': '0' })).status).toBe(200);
  });

  it('wins over ?after= when both are sent', async () => {
    await http('POST', '/categories', { name: `Событие ${Date.now()}` });
    await http('POST', '/categories', { name: `Событие ${Date.now()} 2` });
    const { items } = (await http('GET', '/events?limit=1000')).body as { items: { id: string }[] };
    const [older, newest] = items.slice(-2).map((event) => event.id);
    // ?after= names the newest event (nothing to send yet); Last-Event-ID the one before it, so the newest comes first.
    const controller = new AbortController();
    const response = await fetch(`${server.base}/events/stream?after=${newest}`, { headers: { 'last-event-id': older! }, signal: controller.signal });
    expect(response.status).toBe(200);
    let text = '';
    const decoder = new TextDecoder();
    for await (const chunk of response.body!) {
      text += decoder.decode(chunk as Uint8Array, { stream: true });
      if (/^id: /m.test(text)) break;
    }
    controller.abort();
    expect(/^id: (\d+)$/m.exec(text)?.[1]).toBe(newest);
  });
});

describe('a single-valued header sent twice', () => {
  it('is a 422 at path [] naming the header, and nothing is done', async () => {
    const name = `Дважды ${Date.now()}`;
    const created = await repeated('POST', '/products', { 'idempotency-key': ['a1', 'b1'] }, { name, price: 1 });
    expect(created.status).toBe(422);
    expect(created.requestId).toBeTruthy();
    expect(created.body).toMatchObject({ code: 'UNPROCESSABLE_CONTENT', issues: [{ path: [], message: expect.stringContaining('Idempotency-Key') as string }] });
    expect(((await http('GET', `/products?q=${encodeURIComponent(name)}`)).body as { total: number }).total).toBe(0);

    const { id } = await product();
    const cases: [string, string, Record<string, string[]>, unknown?][] = [
      ['PUT', `/products/${id}`, { 'if-match': ['"1"', '"1"'] }, { price: 2 }],
      ['DELETE', `/products/${id}`, { 'if-match': ['"1"', '"1"'] }],
      ['GET', '/events/stream?after=0', { 'last-event-id': ['1', '2'] }],
      ['GET', '/events', { 'last-event-id': ['1', '2'] }],
      ['GET', '/products', { 'x-catalog-min-position': ['a', 'b'] }],
      ['POST', '/trpc/categories.create', { 'idempotency-key': ['a2', 'b2'] }, { name: `Дважды ${Date.now()}` }],
    ];
    for (const [method, path, headers, body] of cases) {
      const response = await repeated(method, path, headers, body);
      expect(response.status, `${method} ${path}`).toBe(422);
      expect(response.body).toMatchObject({ code: 'UNPROCESSABLE_CONTENT', issues: [{ path: [] }] });
    }
    expect(await http('GET', `/products/${id}`)).toMatchObject({ status: 200, body: { price: 10, version: 1 } });
  });

  it('leaves a header that may list values alone (If-None-Match), and one of each header works', async () => {
    const { id } = await product();
    expect((await repeated('GET', `/products/${id}`, { 'if-none-match': ['"7"', '"1"'] })).status).toBe(304);
    expect((await repeated('PUT', `/products/${id}`, { 'if-match': ['"1"'], 'idempotency-key': ['one'] }, { price: 3 })).status).toBe(200);
  });
});

describe('a cursor is strict base64url', () => {
  it('refuses any character past the cursor as made, or padding, with 422 at ["cursor"]', async () => {
    await product();
    await product();
    const first = await http('GET', '/products?limit=1');
    const cursor = (first.body as { next_cursor: string }).next_cursor;
    expect((await http('GET', `/products?limit=1&cursor=${cursor}`)).status).toBe(200);
    for (const edited of [`${cursor}x`, `${cursor}A`, `${cursor}=`, `${cursor}==`, `${cursor}xyz`, `${cursor.slice(0, -1)}${cursor.endsWith('A') ? 'B' : 'A'}`]) {
      const response = await http('GET', `/products?limit=1&cursor=${edited}`);
      expect(response.status, edited).toBe(422);
      expect(response.body).toMatchObject({ issues: [{ path: ['cursor'] }] });
    }
  });
});

describe('a tRPC batch is a batch however batch=1 is spelled', () => {
  const calls = (n: number) => Array.from({ length: n }, () => 'categories.list').join(',');
  const inputs = (n: number) => encodeURIComponent(JSON.stringify(Object.fromEntries(Array.from({ length: n }, (_, i) => [i, {}]))));

  it('limits a batch spelled with a repeated or encoded batch parameter', async () => {
    for (const spelling of ['batch=1&batch=1', 'batch=1&batch=0', 'batch=%31', 'b%61tch=1']) {
      const tooMany = await http('GET', `/trpc/${calls(11)}?${spelling}&input=${inputs(11)}`);
      expect(tooMany.status, spelling).toBe(400);
      expect(tooMany.body).toEqual({ code: 'BAD_REQUEST', message: 'A tRPC batch holds at most 10 calls; this one has 11' });
      const ok = await http('GET', `/trpc/${calls(10)}?${spelling}&input=${inputs(10)}`);
      expect(ok.status, spelling).toBe(200);
      expect(ok.body).toHaveLength(10);
    }
    // tRPC reads the first batch parameter: this is one call of a procedure that does not exist, not a batch.
    expect((await http('GET', `/trpc/${calls(11)}?batch=0&batch=1`)).status).toBe(404);
  });

  it('counts each call of such a batch against the rate limit', async () => {
    const base = await serve({ rateLimit: { max: 5, windowMs: 60_000 } });
    const first = await fetch(`${base}/trpc/${calls(5)}?batch=1&batch=1&input=${inputs(5)}`);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ratelimit-remaining')).toBe('0');
    expect((await fetch(`${base}/categories`)).status).toBe(429);
  });
});

describe('a version that can never exist', () => {
  it('is a 412 on If-Match, after the 404 of a missing row, and changes nothing', async () => {
    for (const tag of ['"0"', '"2147483648"', '"99999999999999999999"']) {
      const { id } = await product();
      expect((await http('PUT', `/products/${id}`, { price: 2 }, { 'if-match': tag })).status, tag).toBe(412);
      expect((await http('PATCH', `/products/${id}/quantity`, { delta: 1 }, { 'if-match': tag })).status, tag).toBe(412);
      expect((await http('DELETE', `/products/${id}`, undefined, { 'if-match': tag })).status, tag).toBe(412);
      expect(await http('GET', `/products/${id}`)).toMatchObject({ status: 200, body: { price: 10, quantity: 5, version: 1 } });
      const category = (await http('POST', '/categories', { name: `Версия ${tag} ${sequence}` })).body as { id: number };
      expect((await http('PUT', `/categories/${category.id}`, { description: 'x' }, { 'if-match': tag })).status, tag).toBe(412);
      expect((await http('DELETE', `/categories/${category.id}`, undefined, { 'if-match': tag })).status, tag).toBe(412);
      expect((await http('PUT', '/products/999999', { price: 2 }, { 'if-match': tag })).status, tag).toBe(404);
      expect((await http('DELETE', '/categories/999999', undefined, { 'if-match': tag })).status, tag).toBe(404);
    }
  });

  it('is a 412 as tRPC expected_version too, while a negative or fractional one stays a 422', async () => {
    const { id } = await product();
    for (const version of [0, INT32_MAX + 1]) {
      const stale = await rpc('products.update', { id, price: 3, expected_version: version });
      expect(stale.status, String(version)).toBe(412);
      expect(rpcError(stale)).toMatchObject({ code: 'PRECONDITION_FAILED', httpStatus: 412 });
      expect((await rpc('products.adjustQuantity', { id, delta: 1, expected_version: version })).status).toBe(412);
      expect((await rpc('products.delete', { id, expected_version: version })).status).toBe(412);
      expect((await rpc('products.delete', { id: 999_999, expected_version: version })).status).toBe(404);
    }
    for (const version of [-1, 1.5]) expect((await rpc('products.update', { id, price: 3, expected_version: version })).status).toBe(422);
  });

  it('keeps a tag that is neither * nor a quoted version a 422 at ["If-Match"]', async () => {
    const { id } = await product();
    for (const tag of ['0', '"-1"', 'W/"1"', '"1.5"', '""']) {
      const response = await http('PUT', `/products/${id}`, { price: 2 }, { 'if-match': tag });
      expect(response.status, tag).toBe(422);
      expect(response.body).toMatchObject({ issues: [{ path: ['If-Match'] }] });
    }
  });
});

describe('a stock change past 2 147 483 647', () => {
  it('is a 422 at ["delta"], after 404 and 412, and changes nothing', async () => {
    const { id } = await product();
    const response = await http('PATCH', `/products/${id}/quantity`, { delta: INT32_MAX });
    expect(response.status).toBe(422);
    expect(response.body).toMatchObject({ code: 'UNPROCESSABLE_CONTENT', issues: [{ path: ['delta'] }] });
    expect((await http('PATCH', '/products/999999/quantity', { delta: INT32_MAX })).status).toBe(404);
    expect((await http('PATCH', `/products/${id}/quantity`, { delta: INT32_MAX }, { 'if-match': '"2"' })).status).toBe(412);
    const overRpc = await rpc('products.adjustQuantity', { id, delta: INT32_MAX - 4 });
    expect(overRpc.status).toBe(422);
    expect(rpcError(overRpc)).toMatchObject({ issues: [{ path: ['delta'] }] });
    expect(await http('GET', `/products/${id}`)).toMatchObject({ status: 200, body: { quantity: 5, version: 1 } });
  });

  it('reaches 2 147 483 647 exactly, and a set quantity past it is a 422 at ["quantity"]', async () => {
    const { id } = await product();
    expect(await http('PATCH', `/products/${id}/quantity`, { delta: INT32_MAX - 5 })).toMatchObject({ status: 200, body: { quantity: INT32_MAX } });
    expect(await http('PATCH', `/products/${id}/quantity`, { delta: -INT32_MAX })).toMatchObject({ status: 200, body: { quantity: 0 } });
    const tooMany = await http('PATCH', `/products/${id}/quantity`, { quantity: INT32_MAX + 1 });
    expect(tooMany.status).toBe(422);
    expect(tooMany.body).toMatchObject({ issues: [{ path: ['quantity'] }] });
  });
});
