/**
 * Hostile input, generated: requests derived from the published /openapi.json, with valid, boundary,
 * malformed and injection values for every parameter and body field of every operation. Each answer must
 * be a declared status whose body matches the declared schema, never a 5xx, and row counts move only
 * through successful writes. Reproduce a failure with FUZZ_SEED=<the printed seed>.
 */
import { DEFAULT_EVENT_TYPES, eventTypes } from '@tradeos/contract';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, eventSchema, feedPages, startServer, type LiveServer } from './helpers.js';

interface Schema {
  type?: string | string[];
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  properties?: Record<string, Schema>;
  anyOf?: Schema[];
  $ref?: string;
}
interface Operation {
  method: string;
  path: string;
  parameters: { name: string; in: 'path' | 'query'; schema: Schema }[];
  body?: Schema;
  responses: Record<string, Response>;
}
interface Response {
  $ref?: string;
  content?: Record<string, { schema: Schema }>;
}
interface Request {
  operation: Operation;
  path: string;
  body?: unknown;
}

const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2_147_483_647);

const hostileStrings = ["' OR 1=1 --", '; DROP TABLE products; --', '%', '_', '\\', '%_\\', '\u0000', 'x'.repeat(10_000), 'НОУТБУК', '🚀', '', ' ', '../../etc/passwd', '<script>alert(1)</script>', '1e309', '-0', 'null', 'true'];
const hostileNumbers = [0, -1, 1, 0.5, 1.234, 2_147_483_647, 2_147_483_648, -2_147_483_649, 99_999_999.99, 100_000_000, 1e308, -1e308, 2 ** 53 + 2, Number.MIN_VALUE];

/** Values for one field: mostly shaped by its schema, often hostile, sometimes of another type altogether. */
function valueFor(schema: Schema | undefined): fc.Arbitrary<unknown> {
  const types = new Set([schema?.type, ...(schema?.anyOf ?? []).map((s) => s.type)].flat().filter(Boolean));
  const valid: fc.Arbitrary<unknown>[] = [];
  if (schema?.enum) valid.push(fc.constantFrom(...schema.enum));
  if (types.has('integer')) valid.push(fc.integer({ min: Math.max(schema?.minimum ?? -1000, -1e9), max: Math.min(schema?.maximum ?? 1000, 1e9) }));
  if (types.has('number')) valid.push(fc.integer({ min: 0, max: 10_000_000 }).map((cents) => cents / 100));
  if (types.has('string')) valid.push(fc.string({ maxLength: 30 }), fc.constantFrom('Ноутбук', 'Книги', 'SKU-1', 'price'));
  if (types.has('boolean')) valid.push(fc.boolean());
  if (types.has('null')) valid.push(fc.constant(null));
  return fc.oneof(
    { weight: 12, arbitrary: valid.length ? fc.oneof(...valid) : fc.string() },
    { weight: 1, arbitrary: fc.constantFrom(...hostileStrings) },
    { weight: 1, arbitrary: fc.constantFrom(...hostileNumbers) },
    { weight: 1, arbitrary: fc.constantFrom<unknown>(true, null, [], {}, [1, 2], { nested: { deeper: 1 } }) },
  );
}

/** Mostly nothing, sometimes one of these. */
function rarely<T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> {
  return fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary });
}

/** How a value travels in a URL: objects as JSON, everything else as its text. */
function asText(value: unknown): string {
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
}

function deepNesting(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i += 1) value = { a: value };
  return value;
}

function requestFor(operation: Operation): fc.Arbitrary<Request> {
  const pathParams = operation.parameters.filter((p) => p.in === 'path');
  // `wait` holds a long poll open for up to 30 s; events.test.ts proves it.
  const queryParams = operation.parameters.filter((p) => p.in === 'query' && p.name !== 'wait');
  const pathValues = fc.tuple(...pathParams.map((p) => valueFor(p.schema)));
  const query = fc.tuple(
    fc.subarray(queryParams).chain((chosen) => fc.tuple(...chosen.map((p) => valueFor(p.schema).map((value) => [p.name, value] as const)))),
    rarely(fc.constantFrom('verbose', 'limit[]', 'page', 'sort_by%00')),
  );
  const properties = Object.entries(operation.body?.properties ?? {});
  const body = operation.body
    ? fc.oneof(
        { weight: 8, arbitrary: fc.tuple(fc.subarray(properties), rarely(fc.constantFrom('id', 'in_stock', 'colour', '__proto__', 'constructor'))).chain(([chosen, extra]) =>
            fc.tuple(...chosen.map(([name, schema]) => valueFor(schema).map((value) => [name, value] as const)), extra ? valueFor(undefined).map((value) => [extra, value] as const) : fc.constant(undefined)),
          ).map((entries) => Object.fromEntries(entries.filter((entry) => entry !== undefined))) },
        { weight: 1, arbitrary: fc.constantFrom<unknown>([], 'text', 42, null, deepNesting(2_000), { name: 'x'.repeat(10_000), price: 1 }) },
      )
    : fc.constant(undefined);
  return fc.tuple(pathValues, query, body).map(([values, [pairs, unknown], payload]) => {
    let path = operation.path;
    pathParams.forEach((p, i) => (path = path.replace(`{${p.name}}`, encodeURIComponent(asText(values[i])))));
    const search = new URLSearchParams();
    for (const [name, value] of pairs) search.append(name, asText(value));
    if (unknown) search.append(unknown, '1');
    const qs = search.toString();
    return { operation, path: qs ? `${path}?${qs}` : path, body: payload };
  });
}

let server: LiveServer;
let operations: Operation[];
let document: { components: { responses?: Record<string, Response>; schemas: Record<string, Record<string, unknown>> } };
const ajv = new Ajv2020({ strict: false, allErrors: false });
addFormats.default(ajv);

beforeAll(async () => {
  server = await startServer();
  await call(server.base, 'POST', '/categories', { name: 'Книги' });
  for (let i = 0; i < 20; i += 1) await call(server.base, 'POST', '/products', { name: `Ноутбук ${i}`, price: 100 + i, quantity: i, sku: `FZ-${i}` });
  // So that the feed holds every event type from the start, whatever the generated writes hit.
  const doomed = (await call(server.base, 'POST', '/categories', { name: 'Удаляемая' })).body as { id: number };
  await call(server.base, 'PUT', `/categories/${doomed.id}`, { description: 'скоро нет' });
  await call(server.base, 'DELETE', `/categories/${doomed.id}`);
  await call(server.base, 'PUT', '/products/1', { price: 99 });
  await call(server.base, 'DELETE', '/products/20');
  document = (await call(server.base, 'GET', '/openapi.json')).body as typeof document & { paths: Record<string, Record<string, Omit<Operation, 'method' | 'path' | 'body'> & { requestBody?: { content: Record<string, { schema: Schema }> } }>> };
  const paths = (document as unknown as { paths: Record<string, Record<string, Omit<Operation, 'method' | 'path' | 'body'> & { requestBody?: { content: Record<string, { schema: Schema }> } }>> }).paths;
  operations = Object.entries(paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({ method: method.toUpperCase(), path, parameters: op.parameters ?? [], body: named(op.requestBody?.content['application/json']?.schema), responses: op.responses })),
  ).filter((operation) => operation.path !== '/events/stream'); // an endless stream; events.test.ts covers it
});
afterAll(() => server.close());

/** A body's schema: request bodies are named components (`ProductCreate`…), referenced from the operation. */
function named(schema: Schema | undefined): Schema | undefined {
  const ref = schema?.$ref;
  return ref ? document.components.schemas[ref.split('/').pop()!] : schema;
}

async function counts(): Promise<{ products: number; categories: number }> {
  const [rows] = await server.db.sequelize.query('SELECT (SELECT count(*) FROM products)::int AS products, (SELECT count(*) FROM categories)::int AS categories');
  return (rows as { products: number; categories: number }[])[0]!;
}

/** Each event also matches the schema its `type` selects through the document's discriminator, as a generated client reads it. */
function expectEventsAsTyped(page: unknown): string[] {
  const { items } = page as { items: { type: string }[] };
  for (const event of items) {
    const schema = eventSchema(document.components.schemas, event.type);
    expect(schema, `no schema for ${event.type}`).toBeDefined();
    expect(ajv.validate({ ...schema, components: document.components }, event), `${event.type}: ${ajv.errorsText()}`).toBe(true);
  }
  return items.map((event) => event.type);
}

describe('generated hostile requests', () => {
  it(`never get a 5xx, always get a declared status and body, and change rows only through successful writes (${RUNS} runs)`, async () => {
    console.log(`fuzz seed: ${SEED} (FUZZ_SEED=${SEED} reproduces), ${RUNS} requests`);
    expect(operations.length).toBeGreaterThanOrEqual(13);
    const expected = await counts();
    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fc.oneof(...operations.map(requestFor)), async ({ operation, path, body }) => {
        const response = await call(server.base, operation.method, path, body);
        const key = `${operation.method} ${operation.path} ${response.status}`;
        seen.set(key, (seen.get(key) ?? 0) + 1);
        expect(response.status, `${operation.method} ${path}: ${response.text.slice(0, 300)}`).toBeLessThan(500);
        const listed = operation.responses[String(response.status)];
        // Shared error responses are declared once, under components.responses.
        const declared = listed?.$ref ? document.components.responses?.[listed.$ref.split('/').pop()!] : listed;
        expect(declared, `${operation.method} ${path} answered an undeclared ${response.status}`).toBeDefined();
        const schema = declared?.content?.['application/json']?.schema;
        if (schema) {
          const valid = ajv.validate({ ...schema, components: document.components }, response.body);
          expect(valid, `${operation.method} ${path} ${response.status}: ${ajv.errorsText()}`).toBe(true);
          if (operation.path === '/events' && response.status === 200) expectEventsAsTyped(response.body);
        } else {
          expect(response.text, `${operation.method} ${path} ${response.status} has no declared body`).toBe('');
        }
        const resource = operation.path.startsWith('/categories') ? 'categories' : 'products';
        if (response.status === 201) expected[resource] += 1;
        if (response.status === 204) expected[resource] -= 1;
        expect(await counts()).toEqual(expected);
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
    const exercised = new Set([...seen.keys()].map((key) => key.split(' ').slice(0, 2).join(' ')));
    expect([...exercised].sort(), 'every operation of the document was exercised').toEqual(operations.map((op) => `${op.method} ${op.path}`).sort());
    console.log(`statuses seen:\n${[...seen.entries()].sort().map(([k, n]) => `  ${k} ×${n}`).join('\n')}`);
  }, 600_000);

  it('leave a feed whose every event, of every type, is in the shape its type selects in the document', async () => {
    const pages = await feedPages(server.base);
    expect(pages.map((page) => page.status)).toEqual(pages.map(() => 200));
    const seen = new Set(pages.flatMap((page) => expectEventsAsTyped(page.body)));
    // A consumer without `types` gets the v1.2 events only; naming every type adds the reservations' (v1.3).
    expect([...seen].sort()).toEqual([...DEFAULT_EVENT_TYPES].sort());
    const named = await feedPages(server.base, undefined, eventTypes.join(','));
    expect(named.map((page) => page.status)).toEqual(named.map(() => 200));
    for (const page of named) expectEventsAsTyped(page.body);
  });
});
