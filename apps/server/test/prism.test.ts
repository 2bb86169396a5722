/**
 * The document against the server through a validating proxy, as a consumer's contract test would run it:
 * Stoplight Prism in front of the server, every operation's success and each error status it can be driven
 * to here. Requests the document calls valid must pass with no violation either way; requests it calls
 * invalid Prism refuses itself (it does not forward them), which shows the document refuses what the server does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@tradeos/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../src/openapi.js';
import { startServer, type LiveServer } from './helpers.js';

interface Exchange {
  method: string;
  path: string;
  body?: string;
  status: number;
}

const json = (value: unknown) => JSON.stringify(value);

/** Requests the document calls valid, and the status the server must answer each with. */
const VALID: Exchange[] = [
  { method: 'GET', path: '/health', status: 200 },
  { method: 'GET', path: '/products?limit=3&sort_by=price&order=asc', status: 200 },
  { method: 'GET', path: '/products?category=%D0%BA%D0%BD%D0%B8%D0%B3%D0%B8&in_stock=true&min_price=100&max_price=1500', status: 200 },
  { method: 'GET', path: '/products?min_price=500&max_price=100', status: 422 },
  { method: 'GET', path: '/products/search?q=%D0%BD%D0%BE%D1%83%D1%82%D0%B1%D1%83%D0%BA&limit=5', status: 200 },
  { method: 'GET', path: '/products/category/%D0%9C%D0%B5%D0%B1%D0%B5%D0%BB%D1%8C', status: 200 },
  { method: 'GET', path: '/products/category/nowhere', status: 404 },
  { method: 'GET', path: '/products/17', status: 200 },
  { method: 'GET', path: '/products/2000000000', status: 404 },
  { method: 'POST', path: '/products', body: json({ name: 'Стол письменный', price: 19.99, quantity: 3, sku: 'PRISM-1', category_id: 4 }), status: 201 },
  { method: 'POST', path: '/products', body: json({ name: 'Стол', price: 4.35, sku: 'PRISM-1' }), status: 409 },
  { method: 'POST', path: '/products', body: json({ name: 'Стол', price: 319.9, category_id: 999_999 }), status: 422 },
  { method: 'PUT', path: '/products/17', body: json({ price: 84990, description: null }), status: 200 },
  { method: 'PUT', path: '/products/2000000000', body: json({ price: 1 }), status: 404 },
  { method: 'PUT', path: '/products/17', body: json({ sku: 'PRISM-1' }), status: 409 },
  { method: 'PATCH', path: '/products/17/quantity', body: json({ delta: -1 }), status: 200 },
  { method: 'PATCH', path: '/products/17/quantity', body: json({ quantity: 7 }), status: 200 },
  { method: 'PATCH', path: '/products/17/quantity', body: json({ delta: -100 }), status: 409 },
  { method: 'PATCH', path: '/products/2000000000/quantity', body: json({ delta: 1 }), status: 404 },
  { method: 'DELETE', path: '/products/48', status: 204 },
  { method: 'DELETE', path: '/products/48', status: 404 },
  { method: 'GET', path: '/categories', status: 200 },
  { method: 'GET', path: '/categories/1', status: 200 },
  { method: 'GET', path: '/categories/2000000000', status: 404 },
  { method: 'POST', path: '/categories', body: json({ name: 'Гаджеты', description: 'Умные вещи' }), status: 201 },
  { method: 'POST', path: '/categories', body: json({ name: 'гаджеты' }), status: 409 },
  { method: 'PUT', path: '/categories/1', body: json({ description: 'Смартфоны и ноутбуки' }), status: 200 },
  { method: 'PUT', path: '/categories/2', body: json({ name: 'ГАДЖЕТЫ' }), status: 409 },
  { method: 'PUT', path: '/categories/2000000000', body: json({ name: 'Нет' }), status: 404 },
  { method: 'DELETE', path: '/categories/1', status: 409 },
  { method: 'DELETE', path: '/categories/5', status: 204 },
  { method: 'DELETE', path: '/categories/5', status: 404 },
  // After the writes above, the feed holds every event type: each in the shape its `type` selects.
  { method: 'GET', path: '/events?limit=1000', status: 200 },
];

/**
 * Requests the document calls invalid, which the server refuses with 422. (Unknown query parameters, malformed
 * JSON and other media types are the server's 422/400/415 too, but OpenAPI cannot forbid the first, and Prism
 * cannot forward the other two; protocol.test.ts covers them directly.)
 */
const INVALID: Exchange[] = [
  { method: 'GET', path: '/products?limit=0', status: 422 },
  { method: 'GET', path: '/products?sort_by=colour', status: 422 },
  { method: 'GET', path: '/products/abc', status: 422 },
  { method: 'GET', path: '/products/search', status: 422 },
  { method: 'POST', path: '/products', body: json({ name: 'Стол', price: '19.99' }), status: 422 },
  { method: 'POST', path: '/products', body: json({ name: 'Стол', price: 1, id: 5 }), status: 422 },
  { method: 'PUT', path: '/products/17', body: json({}), status: 422 },
  { method: 'PATCH', path: '/products/17/quantity', body: json({ delta: 1, quantity: 2 }), status: 422 },
  { method: 'PATCH', path: '/products/17/quantity', body: json({}), status: 422 },
  { method: 'POST', path: '/categories', body: json({ name: '' }), status: 422 },
  { method: 'PUT', path: '/categories/1', body: json({}), status: 422 },
  { method: 'DELETE', path: '/categories/0', status: 422 },
];

let server: LiveServer;
let prism: ChildProcess;
let proxy: string;
let output = '';
let dir: string;

beforeAll(async () => {
  server = await startServer({ seeded: true });
  dir = await mkdtemp(join(tmpdir(), 'tradeos-prism-'));
  const file = join(dir, 'openapi.json');
  await writeFile(file, JSON.stringify(openApiDocument()));
  const port = await freePort();
  prism = spawn(fileURLToPath(new URL('../node_modules/.bin/prism', import.meta.url)), ['proxy', file, server.base, '--port', String(port), '--host', '127.0.0.1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  prism.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  prism.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const started = Date.now();
  while (!output.includes('Prism is listening')) {
    if (Date.now() - started > 60_000 || prism.exitCode !== null) throw new Error(`prism did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  proxy = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  prism?.kill();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

async function send(base: string, { method, path, body }: Exchange): Promise<{ response: Response; text: string }> {
  const response = await fetch(`${base}${path}`, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body });
  return { response, text: await response.text() };
}

/** What Prism logged while `call` ran: its request and response violations. */
async function violations<T>(call: () => Promise<T>): Promise<{ result: T; request: string[]; response: string[] }> {
  const before = output.length;
  const result = await call();
  // Prism logs a forwarded exchange's validation just after answering it.
  await new Promise((resolve) => setTimeout(resolve, 20));
  const lines = output.slice(before).split('\n').filter((line) => line.includes('Violation:'));
  return { result, request: lines.filter((line) => /Violation: request/.test(line)), response: lines.filter((line) => !/Violation: request/.test(line)) };
}

describe('behind a validating proxy (Stoplight Prism)', () => {
  it('every valid request passes through with its status and no request or response violation', async () => {
    const found: string[] = [];
    for (const exchange of VALID) {
      const name = `${exchange.method} ${exchange.path}`;
      const { result, request, response } = await violations(() => send(proxy, exchange));
      expect(`${name} → ${result.response.status}`, result.text.slice(0, 300)).toBe(`${name} → ${exchange.status}`);
      if (request.length || response.length) found.push(`${name}: ${[...request, ...response].join(' | ')}`);
    }
    expect(found).toEqual([]);
    console.log(`prism: ${VALID.length} valid requests (statuses ${[...new Set(VALID.map((e) => e.status))].sort().join(', ')}), ${found.length} violations`);
  });

  it('every request the server refuses as invalid, the document calls invalid, and the 422 it gets is as declared', async () => {
    for (const exchange of INVALID) {
      const name = `${exchange.method} ${exchange.path}`;
      const { result, request, response } = await violations(() => send(proxy, exchange));
      expect(`${name} → ${result.response.status}`, result.text.slice(0, 300)).toBe(`${name} → ${exchange.status}`);
      expect(request.length, `${name}: Prism saw no request violation`).toBeGreaterThan(0);
      expect(response, name).toEqual([]);
    }
    console.log(`prism: ${INVALID.length} invalid requests, each a request violation for Prism and a declared 422 from the server`);
  });
});
