/**
 * Contract v1.3, stock reservations, over real HTTP: every rule of the section, once over REST and once over tRPC
 * (the same scenarios through both transports), the races included. Expiry is awaited by the database's clock,
 * never by a sleep that a busy machine could outlast.
 */
import { createCatalogStore } from '@tradeos/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startServer, type JsonResponse, type LiveServer } from './helpers.js';

let server: LiveServer;

beforeAll(async () => {
  server = await startServer({ database: { pool: { max: 20 } } });
});
afterAll(() => server.close());

/** Every field an answer here may carry (reservation, list page or error), typed as a test reads them. */
interface Body {
  id: string;
  status: string;
  reference: string | null;
  expires_at: string;
  created_at: string;
  version: number;
  items: Body[];
  product_id: number;
  quantity: number;
  code: string;
  message: string;
  issues: { path: (string | number)[] }[];
  shortages: { product_id: number; requested: number; available: number }[];
  total: number;
  skip: number;
  limit: number;
  next_cursor: string;
}
interface ProductBody {
  id: number;
  quantity: number;
  reserved: number;
  available: number;
  in_stock: boolean;
  version: number;
  updated_at: string;
}
interface EventBody {
  type: string;
  entity: string;
  entity_id: number | string;
  version: number;
  data: { status: string; quantity: number };
}
interface Answer extends JsonResponse {
  body: Body;
}

/** One transport's calls; both answer the contract's bodies (tRPC's error `data`, without its `httpStatus`). */
interface Transport {
  name: 'REST' | 'tRPC';
  created: number;
  create(body: unknown, headers?: Record<string, string>): Promise<Answer>;
  byId(id: string): Promise<Answer>;
  list(query: Record<string, string | number>): Promise<Answer>;
  commit(id: string, version?: number): Promise<Answer>;
  release(id: string, version?: number): Promise<Answer>;
}

const ifMatch = (version?: number): Record<string, string> => (version === undefined ? {} : { 'if-match': `"${version}"` });

const rest: Transport = {
  name: 'REST',
  created: 201,
  create: (body, headers) => call(server.base, 'POST', '/reservations', body, headers) as Promise<Answer>,
  byId: (id) => call(server.base, 'GET', `/reservations/${id}`) as Promise<Answer>,
  list: (query) => call(server.base, 'GET', `/reservations?${String(new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)])))}`) as Promise<Answer>,
  commit: (id, version) => call(server.base, 'POST', `/reservations/${id}/commit`, undefined, ifMatch(version)) as Promise<Answer>,
  release: (id, version) => call(server.base, 'POST', `/reservations/${id}/release`, undefined, ifMatch(version)) as Promise<Answer>,
};

async function rpc(method: 'GET' | 'POST', procedure: string, input: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const answer =
    method === 'GET'
      ? await call(server.base, 'GET', `/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(input))}`, undefined, headers)
      : await call(server.base, 'POST', `/trpc/${procedure}`, input, headers);
  const body = answer.body as { result?: { data: Body }; error?: { data: Body } };
  if (body.error) {
    const { httpStatus: _status, ...data } = body.error.data as Body & { httpStatus: number };
    return { ...answer, body: data };
  }
  return { ...answer, body: body.result!.data };
}

const trpc: Transport = {
  name: 'tRPC',
  created: 200,
  create: (body, headers) => rpc('POST', 'reservations.create', body, headers),
  byId: (id) => rpc('GET', 'reservations.byId', { id }),
  list: (query) => rpc('GET', 'reservations.list', query),
  commit: (id, version) => rpc('POST', 'reservations.commit', { id, expected_version: version }),
  release: (id, version) => rpc('POST', 'reservations.release', { id, expected_version: version }),
};

let made = 0;
async function product(quantity: number): Promise<ProductBody> {
  made += 1;
  const answer = await call(server.base, 'POST', '/products', { name: `Резерв ${made}`, price: 10, quantity });
  expect(answer.status).toBe(201);
  return answer.body as ProductBody;
}
const productOf = async (id: number) => (await call(server.base, 'GET', `/products/${id}`)).body as ProductBody;

/** Resolves once the database's own clock is past `instant` (an ISO timestamp). */
async function untilPast(instant: string): Promise<void> {
  for (;;) {
    const [row] = await server.db.query<{ past: boolean }>('SELECT clock_timestamp() > $1::timestamptz AS past', [instant]);
    if (row?.past) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function events(types?: string): Promise<EventBody[]> {
  const items: EventBody[] = [];
  let after = '0';
  for (;;) {
    const page = (await call(server.base, 'GET', `/events?after=${after}&limit=1000${types ? `&types=${types}` : ''}`)).body as { items: EventBody[]; next_after: string };
    items.push(...page.items);
    if (page.next_after === after) return items;
    after = page.next_after;
  }
}

describe.each([rest, trpc])('reservations over $name', (t) => {
  it('hold stock: reserved, available and in_stock move, the product’s version, updated_at and feed do not', async () => {
    const p = await product(5);
    const answer = await t.create({ items: [{ product_id: p.id, quantity: 2 }], reference: 'order-1' });
    expect(answer.status).toBe(t.created);
    const r = answer.body;
    expect(r).toMatchObject({ status: 'active', reference: 'order-1', items: [{ product_id: p.id, quantity: 2 }], version: 1 });
    expect(r.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(r.expires_at) - Date.parse(r.created_at)).toBe(900_000);
    if (t.name === 'REST') {
      expect(answer.headers.get('location')).toBe(`/reservations/${r.id}`);
      expect(answer.headers.get('etag')).toBe('"1"');
    }
    const after = await productOf(p.id);
    expect(after).toMatchObject({ quantity: 5, reserved: 2, available: 3, in_stock: true, version: p.version, updated_at: p.updated_at });
    const updates = (await events('product.updated')).filter((event) => event.entity_id === p.id);
    expect(updates).toEqual([]);
    expect((await t.byId(r.id)).body).toEqual(r);
  });

  it('hold every unit: in_stock and the in_stock filter mean available > 0', async () => {
    const p = await product(2);
    expect((await t.create({ items: [{ product_id: p.id, quantity: 2 }] })).status).toBe(t.created);
    expect(await productOf(p.id)).toMatchObject({ quantity: 2, reserved: 2, available: 0, in_stock: false });
    const ids = async (inStock: boolean) => ((await call(server.base, 'GET', `/products?in_stock=${inStock}&limit=100&count=none`)).body as { items: ProductBody[] }).items.map((item) => item.id);
    expect(await ids(false)).toContain(p.id);
    expect(await ids(true)).not.toContain(p.id);
  });

  it('refuse a short reservation whole with 409 naming every short item, holding nothing', async () => {
    const [a, b, c] = [await product(1), await product(5), await product(0)];
    const answer = await t.create({ items: [{ product_id: a.id, quantity: 3 }, { product_id: b.id, quantity: 1 }, { product_id: c.id, quantity: 1 }] });
    expect(answer.status).toBe(409);
    expect(answer.body.code).toBe('CONFLICT');
    expect(answer.body.shortages).toEqual([
      { product_id: a.id, requested: 3, available: 1 },
      { product_id: c.id, requested: 1, available: 0 },
    ]);
    expect(answer.body.message).toContain(`product ${a.id}`);
    expect(answer.body.message).toContain(`product ${c.id}`);
    expect(await productOf(b.id)).toMatchObject({ reserved: 0, available: 5 });
  });

  it('refuse invalid bodies with 422 at the field: unknown and repeated products, counts, ttl, reference', async () => {
    const p = await product(3);
    const issues = async (body: unknown) => {
      const answer = await t.create(body);
      expect(answer.status, JSON.stringify(body)).toBe(422);
      return answer.body.issues.map((issue) => issue.path);
    };
    expect(await issues({ items: [{ product_id: p.id, quantity: 1 }, { product_id: 2_000_000_000, quantity: 1 }] })).toEqual([['items', 1, 'product_id']]);
    expect(await issues({ items: [{ product_id: p.id, quantity: 1 }, { product_id: p.id, quantity: 2 }] })).toEqual([['items', 1, 'product_id']]);
    expect(await issues({ items: [] })).toEqual([['items']]);
    expect(await issues({ items: Array.from({ length: 101 }, (_, i) => ({ product_id: i + 1, quantity: 1 })) })).toEqual([['items']]);
    expect(await issues({ items: [{ product_id: p.id, quantity: 0 }] })).toEqual([['items', 0, 'quantity']]);
    expect(await issues({ items: [{ product_id: p.id, quantity: 1 }], ttl_seconds: 0 })).toEqual([['ttl_seconds']]);
    expect(await issues({ items: [{ product_id: p.id, quantity: 1 }], ttl_seconds: 86_401 })).toEqual([['ttl_seconds']]);
    expect(await issues({ items: [{ product_id: p.id, quantity: 1 }], reference: '' })).toEqual([['reference']]);
    expect(await productOf(p.id)).toMatchObject({ reserved: 0 });
  });

  it('answer 404 for an unknown reservation and 422 for an id that is no uuid', async () => {
    expect((await t.byId('00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await t.byId('17')).status).toBe(422);
    expect((await t.commit('00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await t.release('00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });

  it('commit: quantity drops in one transaction, versions move, product.updated follows; a repeat answers 200', async () => {
    const [a, b] = [await product(4), await product(6)];
    const r = (await t.create({ items: [{ product_id: b.id, quantity: 2 }, { product_id: a.id, quantity: 3 }] })).body;
    expect((await t.commit(r.id, 7)).status).toBe(412);
    const committed = await t.commit(r.id, 1);
    expect(committed.status).toBe(200);
    expect(committed.body).toMatchObject({ id: r.id, status: 'committed', version: 2 });
    expect(await productOf(a.id)).toMatchObject({ quantity: 1, reserved: 0, available: 1, version: a.version + 1 });
    expect(await productOf(b.id)).toMatchObject({ quantity: 4, reserved: 0, available: 4, version: b.version + 1 });
    // Already committed: 200 with it, before any If-Match is compared.
    expect((await t.commit(r.id, 1)).body).toEqual(committed.body);
    expect((await t.release(r.id)).status).toBe(409);
    const updates = (await events('product.updated')).filter((event) => event.entity_id === a.id);
    expect(updates.map((event) => event.data.quantity)).toEqual([1]);
  });

  it('release: the units are available at once; a repeat answers 200; committing it is a 409', async () => {
    const p = await product(3);
    const r = (await t.create({ items: [{ product_id: p.id, quantity: 3 }] })).body;
    expect((await t.release(r.id, 2)).status).toBe(412);
    const released = await t.release(r.id, 1);
    expect(released.body).toMatchObject({ status: 'released', version: 2 });
    expect(await productOf(p.id)).toMatchObject({ quantity: 3, reserved: 0, available: 3 });
    expect((await t.release(r.id, 1)).body).toEqual(released.body);
    const commit = await t.commit(r.id);
    expect(commit.status).toBe(409);
    expect(commit.body.code).toBe('CONFLICT');
  });

  it('expire exactly at expires_at, with no sweeper: reads, new reservations and transitions all see it', async () => {
    const p = await product(2);
    const r = (await t.create({ items: [{ product_id: p.id, quantity: 2 }], ttl_seconds: 1 })).body;
    await untilPast(r.expires_at);
    expect((await t.byId(r.id)).body).toMatchObject({ status: 'expired', version: 1 });
    expect(await productOf(p.id)).toMatchObject({ reserved: 0, available: 2, in_stock: true });
    const listed = (await t.list({ status: 'expired', product_id: p.id })).body;
    expect(listed.items.map((item) => item.id)).toEqual([r.id]);
    expect((await t.commit(r.id)).status).toBe(409);
    expect((await t.release(r.id, 99)).body).toMatchObject({ status: 'expired', version: 1 });
    const next = await t.create({ items: [{ product_id: p.id, quantity: 2 }] });
    expect(next.status).toBe(t.created);
  });

  it('list newest first, filtered by status, product and reference, in the list envelope with a cursor', async () => {
    const p = await product(10);
    const reference = `list-${t.name}`;
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) ids.push((await t.create({ items: [{ product_id: p.id, quantity: 1 }], reference })).body.id);
    await t.commit(ids[0]!);
    const first = (await t.list({ reference, limit: 2 })).body;
    expect(first).toMatchObject({ total: 3, skip: 0, limit: 2 });
    const second = (await t.list({ reference, limit: 2, cursor: first.next_cursor })).body;
    expect([...first.items, ...second.items].map((item) => item.id)).toEqual([...ids].reverse());
    expect(second.next_cursor).toBeNull();
    expect((await t.list({ reference, status: 'active' })).body.items.map((item) => item.id)).toEqual([ids[2], ids[1]]);
    expect((await t.list({ product_id: p.id, status: 'committed' })).body.items.map((item) => item.id)).toEqual([ids[0]]);
    expect((await t.list({ status: 'bogus' })).status).toBe(422);
  });

  it('take an Idempotency-Key on create: a repeat replays the first answer and holds nothing more', async () => {
    const p = await product(5);
    const key = { 'idempotency-key': `reserve-${t.name}` };
    const body = { items: [{ product_id: p.id, quantity: 2 }] };
    const first = await t.create(body, key);
    const again = await t.create(body, key);
    expect(again.status).toBe(t.created);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await productOf(p.id)).toMatchObject({ reserved: 2 });
    expect((await t.create({ items: [{ product_id: p.id, quantity: 1 }] }, key)).status).toBe(422);
  });

  it('never oversell: 1 000 concurrent one-unit reservations against 50 give exactly 50', async () => {
    const p = await product(50);
    const answers = await Promise.all(Array.from({ length: 1_000 }, () => t.create({ items: [{ product_id: p.id, quantity: 1 }] })));
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status === t.created)).toHaveLength(50);
    expect(statuses.every((status) => status === t.created || status === 409 || status === 503)).toBe(true);
    expect(await productOf(p.id)).toMatchObject({ quantity: 50, reserved: 50, available: 0, in_stock: false });
    expect((await t.list({ product_id: p.id, status: 'active', limit: 100 })).body.total).toBe(50);
  });

  it('never deadlock: multi-item reservations over the same products in opposite orders', async () => {
    const [a, b, c] = [await product(1_000), await product(1_000), await product(1_000)];
    const orders = [[a, b, c], [c, b, a], [b, a, c], [c, a, b]];
    const answers = await Promise.all(
      Array.from({ length: 120 }, (_, i) => t.create({ items: orders[i % 4]!.map((x) => ({ product_id: x.id, quantity: 1 })) })),
    );
    // Any deadlock would be a victim retried or, past retries, a 503: none may happen at all.
    expect(answers.map((answer) => answer.status)).toEqual(answers.map(() => t.created));
    for (const x of [a, b, c]) expect(await productOf(x.id)).toMatchObject({ reserved: 120, available: 880 });
  });

  it('never count a unit twice when commits and releases race on one reservation', async () => {
    const p = await product(10);
    for (let round = 0; round < 5; round += 1) {
      const r = (await t.create({ items: [{ product_id: p.id, quantity: 2 }] })).body;
      const before = (await productOf(p.id)).quantity;
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? t.commit(r.id) : t.release(r.id))));
      const final = (await t.byId(r.id)).body;
      expect(final.version).toBe(2);
      for (const answer of answers) {
        const asked = answer.body.status === undefined ? undefined : answer.body.status;
        if (answer.status === 200) expect(asked).toBe(final.status);
        else expect(answer.status).toBe(409);
      }
      expect((await productOf(p.id)).quantity).toBe(final.status === 'committed' ? before - 2 : before);
      if (final.status === 'committed') await call(server.base, 'PATCH', `/products/${p.id}/quantity`, { delta: 2 });
    }
  });
});

describe('reservations and the rest of the catalog', () => {
  it('guard every write that moves stock: PATCH, PUT, a bulk and a delete answer 409 and change nothing', async () => {
    const created = await call(server.base, 'POST', '/products', { name: 'Охраняемый', price: 1, quantity: 5, sku: 'GUARD-1' });
    const p = created.body as ProductBody;
    const r = (await rest.create({ items: [{ product_id: p.id, quantity: 3 }] })).body;
    const refused = [
      await call(server.base, 'PATCH', `/products/${p.id}/quantity`, { delta: -3 }),
      await call(server.base, 'PATCH', `/products/${p.id}/quantity`, { quantity: 2 }),
      await call(server.base, 'PUT', `/products/${p.id}`, { quantity: 0 }),
      await call(server.base, 'POST', '/products/bulk', { items: [{ sku: 'GUARD-NEW', name: 'Новый', price: 1 }, { sku: 'GUARD-1', name: 'Охраняемый', price: 1, quantity: 1 }] }),
      await call(server.base, 'DELETE', `/products/${p.id}`),
    ];
    for (const answer of refused) {
      expect(answer.status, answer.text).toBe(409);
      expect((answer.body as Body).message).toContain(`Product ${p.id}`);
      expect((answer.body as Body).message).toContain('3 units reserved');
    }
    expect(await productOf(p.id)).toMatchObject({ quantity: 5, reserved: 3, version: p.version });
    expect((await call(server.base, 'GET', '/products?q=Новый&count=exact')).body).toMatchObject({ total: 0 });
    expect((await call(server.base, 'PATCH', `/products/${p.id}/quantity`, { delta: -2 })).status).toBe(200);
    await rest.release(r.id);
    expect((await call(server.base, 'DELETE', `/products/${p.id}`)).status).toBe(204);
    expect((await rest.byId(r.id)).body.items).toEqual([{ product_id: p.id, quantity: 3 }]);
  });

  it('feed reservation.* only to consumers whose types name them; the sweeper appends reservation.expired', async () => {
    const p = await product(4);
    const kept = (await rest.create({ items: [{ product_id: p.id, quantity: 1 }] })).body;
    const given = (await rest.create({ items: [{ product_id: p.id, quantity: 1 }] })).body;
    const lapsed = (await rest.create({ items: [{ product_id: p.id, quantity: 1 }], ttl_seconds: 1 })).body;
    await rest.commit(kept.id);
    await rest.release(given.id);
    await untilPast(lapsed.expires_at);
    const store = createCatalogStore(server.db);
    expect(await store.reservations.sweep()).toBeGreaterThanOrEqual(1);
    expect(await store.reservations.sweep()).toBe(0);
    expect((await rest.byId(lapsed.id)).body).toMatchObject({ status: 'expired', version: 1 });

    expect((await events()).some((event) => event.entity === 'reservation')).toBe(false);
    const types = 'reservation.created,reservation.committed,reservation.released,reservation.expired';
    const ours = (await events(types)).filter((event) => [kept.id, given.id, lapsed.id].includes(String(event.entity_id)));
    expect(ours.map((event) => [event.type, event.entity_id, event.data.status, event.version])).toEqual([
      ['reservation.created', kept.id, 'active', 1],
      ['reservation.created', given.id, 'active', 1],
      ['reservation.created', lapsed.id, 'active', 1],
      ['reservation.committed', kept.id, 'committed', 2],
      ['reservation.released', given.id, 'released', 2],
      ['reservation.expired', lapsed.id, 'expired', 1],
    ]);
  });

  it('never count a unit twice when commits, releases and the sweeper race the expiry', async () => {
    const p = await product(100);
    const store = createCatalogStore(server.db);
    const held = await Promise.all(Array.from({ length: 10 }, () => rest.create({ items: [{ product_id: p.id, quantity: 1 }], ttl_seconds: 1 })));
    const reservations = held.map((answer) => answer.body);
    // Fired about the instant of expiry; whichever side of it each lands on, the invariants below must hold.
    await untilPast(new Date(Date.parse(reservations[0]!.expires_at) - 30).toISOString());
    const answers = await Promise.all([
      ...reservations.flatMap((r) => [rest.commit(r.id), rest.release(r.id), rest.commit(r.id)]),
      store.reservations.sweep().then(() => undefined),
    ]);
    for (const answer of answers) if (answer) expect([200, 409]).toContain(answer.status);
    await untilPast(reservations.at(-1)!.expires_at);
    await store.reservations.sweep();
    const finals = await Promise.all(reservations.map(async (r) => (await rest.byId(r.id)).body));
    expect(finals.every((r) => ['committed', 'released', 'expired'].includes(r.status))).toBe(true);
    const committed = finals.filter((r) => r.status === 'committed').length;
    expect(await productOf(p.id)).toMatchObject({ quantity: 100 - committed, reserved: 0, available: 100 - committed });
    const updates = (await events('product.updated')).filter((event) => event.entity_id === p.id);
    expect(updates).toHaveLength(committed);
  });
});
