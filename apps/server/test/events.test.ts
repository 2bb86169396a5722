import { Writable } from 'node:stream';
import type { Event } from '@tradeos/contract';
import { createChangeFeed, createDatabase } from '@tradeos/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { call, sameDatabase, startServer, type LiveServer } from './helpers.js';

let server: LiveServer;

beforeAll(async () => {
  server = await startServer({ requestTimeoutMs: 1_500, events: { heartbeatMs: 200 } });
});
afterAll(() => server.close());

interface Stream {
  status: number;
  headers: Headers;
  /** The next `n` events (waits for them). */
  take: (n: number) => Promise<Event[]>;
  /** Comment lines seen so far. */
  comments: () => number;
  close: () => void;
}

/** An SSE client over fetch: messages parsed as they arrive. */
async function stream(base: string, path: string, headers: Record<string, string> = {}): Promise<Stream> {
  const controller = new AbortController();
  const response = await fetch(`${base}${path}`, { headers, signal: controller.signal });
  const events: Event[] = [];
  let comments = 0;
  let wake = () => undefined as void;
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body!) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const message = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (message.startsWith(':')) comments += 1;
          const data = message.split('\n').find((line) => line.startsWith('data: '));
          const id = message.split('\n').find((line) => line.startsWith('id: '));
          if (data) {
            const event = JSON.parse(data.slice(6)) as Event;
            expect(id).toBe(`id: ${event.id}`);
            events.push(event);
          }
          wake();
        }
      }
    } catch {
      // aborted by close()
    }
  })();
  return {
    status: response.status,
    headers: response.headers,
    comments: () => comments,
    take: async (n) => {
      const deadline = Date.now() + 5_000;
      while (events.length < n && Date.now() < deadline) await new Promise<void>((resolve) => ((wake = resolve), setTimeout(resolve, 50)));
      return events.splice(0, n);
    },
    close: () => controller.abort(),
  };
}

const createCategory = async (base: string, name: string) => (await call(base, 'POST', '/categories', { name })).body as { id: number };
const page = async (base: string, query: string) => {
  const answer = await call(base, 'GET', `/events?${query}`);
  expect(answer.status, `GET /events?${query}: ${answer.text}`).toBe(200);
  return answer.body as { items: Event[]; next_after: string };
};

/** The id of the newest event handed out: pages from the oldest kept event until a page comes back empty. */
async function newest(base: string): Promise<string> {
  let next = await page(base, 'limit=1000');
  while (next.items.length) next = await page(base, `after=${next.next_after}&limit=1000`);
  return next.next_after;
}

describe('GET /events', () => {
  it('pages every change in id order with next_after, filters by type, and refuses bad parameters', async () => {
    const { next_after: start } = await page(server.base, 'after=0&limit=1000');
    const category = await createCategory(server.base, 'События');
    const product = (await call(server.base, 'POST', '/products', { name: 'Чайник', price: 10, category_id: category.id })).body as { id: number };
    await call(server.base, 'PATCH', `/products/${product.id}/quantity`, { delta: 3 });
    expect((await call(server.base, 'PATCH', `/products/${product.id}/quantity`, { delta: -10 })).status).toBe(409);
    expect((await call(server.base, 'POST', '/products', { name: 'Без категории', price: 1, category_id: 999_999 })).status).toBe(422);
    await call(server.base, 'DELETE', `/products/${product.id}`);

    const all = await page(server.base, `after=${start}&wait=5`);
    const rest = all.items.length < 4 ? (await page(server.base, `after=${all.next_after}&wait=5`)).items : [];
    const events = [...all.items, ...rest];
    expect(events.map((event) => [event.type, event.entity_id, event.version])).toEqual([
      ['category.created', category.id, 1],
      ['product.created', product.id, 1],
      ['product.updated', product.id, 2],
      ['product.deleted', product.id, 3],
    ]);
    expect(events[2]!.data).toMatchObject({ id: product.id, quantity: 3, category: { id: category.id, name: 'События' } });

    const first = await page(server.base, `after=${start}&limit=1&types=product.created,product.deleted`);
    expect(first.items.map((event) => event.type)).toEqual(['product.created']);
    expect(first.next_after).toBe(first.items[0]!.id);
    expect((await page(server.base, `after=${events.at(-1)!.id}`)).next_after).toBe(events.at(-1)!.id);

    for (const query of ['after=-1', 'after=abc', 'limit=0', 'limit=1001', 'wait=31', 'types=product.renamed', 'cursor=1']) {
      const response = await call(server.base, 'GET', `/events?${query}`);
      expect(response.status, query).toBe(422);
      expect(response.body).toMatchObject({ code: 'UNPROCESSABLE_CONTENT' });
    }
  });

  it('holds a long poll open and answers as soon as a write commits, even past the request timeout', async () => {
    const after = await newest(server.base);
    const began = Date.now();
    const polled = call(server.base, 'GET', `/events?after=${after}&wait=20`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await createCategory(server.base, 'Разбудить');
    const response = await polled;
    expect(Date.now() - began).toBeLessThan(1_500);
    expect(response.status).toBe(200);
    expect((response.body as { items: Event[] }).items.map((event) => event.type)).toEqual(['category.created']);

    // Nothing arrives: an empty page after `wait` seconds, not a 503 at the 1.5 s request timeout.
    const quiet = await call(server.base, 'GET', `/events?after=${(response.body as { next_after: string }).next_after}&wait=2`);
    expect(quiet.status).toBe(200);
    expect(quiet.body).toMatchObject({ items: [] });
  });

  it('answers 410 GONE for a cursor older than the events kept', async () => {
    await createCategory(server.base, 'Устаревшая');
    const { next_after: last } = await page(server.base, 'limit=1000&wait=1');
    await server.db.query(`UPDATE events SET occurred_at = occurred_at - interval '30 days' WHERE id <= $1`, [last]);
    // Retention as any instance runs it (EVENTS_RETENTION_DAYS=7): this one prunes now rather than within the minute.
    const feed = createChangeFeed(server.db);
    await feed.start();
    expect(await feed.prune()).toBeGreaterThan(0);
    await feed.close();

    const gone = await call(server.base, 'GET', '/events?after=0');
    expect(gone.status).toBe(410);
    expect(gone.body).toMatchObject({ code: 'GONE' });
    expect((await call(server.base, 'GET', '/events/stream?after=0')).status).toBe(410);
    expect((await call(server.base, 'GET', `/events?after=${last}`)).status).toBe(200);
  });
});

describe('GET /events/stream', () => {
  it('streams events with id lines and heartbeats, and resumes after Last-Event-ID', async () => {
    const after = await newest(server.base);
    const live = await stream(server.base, `/events/stream?after=${after}`);
    expect(live.status).toBe(200);
    expect(live.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(live.headers.get('x-request-id')).toBeTruthy();
    for (const name of ['Поток 1', 'Поток 2', 'Поток 3']) await createCategory(server.base, name);
    const seen = await live.take(3);
    expect(seen.map((event) => (event.data as { name: string }).name)).toEqual(['Поток 1', 'Поток 2', 'Поток 3']);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(live.comments()).toBeGreaterThan(0);
    live.close();

    const resumed = await stream(server.base, '/events/stream?after=0', { 'last-event-id': seen[0]!.id });
    expect((await resumed.take(2)).map((event) => event.id)).toEqual([seen[1]!.id, seen[2]!.id]);
    resumed.close();

    expect((await call(server.base, 'GET', '/events/stream?limit=5')).status).toBe(422);
    const head = await fetch(`${server.base}/events/stream`, { method: 'HEAD', signal: AbortSignal.timeout(2_000) });
    expect([head.status, head.headers.get('content-type')]).toEqual([200, 'text/event-stream; charset=utf-8']);
  });

  it('holds a slow reader to one waiting write at a time, without piling up listeners on its response', async () => {
    const after = await newest(server.base);
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    try {
      const response = await fetch(`${server.base}/events/stream?after=${after}&types=product.created`);
      // About 9 MB of events while nothing is read: the socket fills, and every later write waits for a drain.
      const batches = 10;
      for (let batch = 0; batch < batches; batch += 1) {
        const items = Array.from({ length: 1000 }, (_, index) => ({ sku: `SLOW-${batch}-${index}`, name: `Медленный ${index}`, price: 1, description: 'ж'.repeat(400) }));
        expect((await call(server.base, 'POST', '/products/bulk', { items })).status).toBe(200);
      }
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      let text = '';
      let received = 0;
      while (received < batches * 1000) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
        const end = text.lastIndexOf('\n\n') + 2;
        if (end < 2) continue;
        received += text.slice(0, end).split('\ndata: ').length - 1;
        text = text.slice(end);
      }
      await reader.cancel();
      expect(received).toBe(batches * 1000);
      expect(warnings).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('ends a stream whose client left while it waited on a full socket, logged at info as closed, not as a failure', async () => {
    const lines: { level: number; msg: string }[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as { level: number; msg: string });
        done();
      },
    });
    const db = createDatabase(sameDatabase(server.db));
    const app = buildApp({ db, logger: { level: 'info', stream } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    try {
      const after = await newest(base);
      // About 5 MB of events behind the cursor: the stream is still catching up, its socket full, when its client leaves.
      for (let batch = 0; batch < 5; batch += 1) {
        const items = Array.from({ length: 1000 }, (_, index) => ({ sku: `GONE-${batch}-${index}`, name: `Брошенный ${index}`, price: 1, description: 'ж'.repeat(400) }));
        expect((await call(base, 'POST', '/products/bulk', { items })).status).toBe(200);
      }
      const reader = ((await fetch(`${base}/events/stream?after=${after}`)).body as ReadableStream<Uint8Array>).getReader();
      await reader.read();
      await new Promise((resolve) => setTimeout(resolve, 200));
      await reader.cancel();
      const deadline = Date.now() + 5_000;
      while (!lines.some((line) => line.msg === 'event stream closed') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(lines.filter((line) => line.msg.startsWith('event stream'))).toMatchObject([{ level: 30, msg: 'event stream closed' }]);
      expect(lines.filter((line) => line.level >= 40 && 'reqId' in line)).toEqual([]);
    } finally {
      await app.close();
      await db.close();
    }
  });

  it('delivers every event to streams on two servers sharing one database, whichever server wrote it', async () => {
    const other = createDatabase(sameDatabase(server.db));
    // Its fallback poll only every 10 s: what reaches it sooner came by NOTIFY.
    const second = buildApp({ db: other, events: { pollMs: 10_000 } });
    await second.listen({ port: 0, host: '127.0.0.1' });
    const secondBase = `http://127.0.0.1:${(second.server.address() as { port: number }).port}`;
    try {
      const after = await newest(server.base);
      const onFirst = await stream(server.base, `/events/stream?after=${after}&types=category.created`);
      const onSecond = await stream(secondBase, `/events/stream?after=${after}&types=category.created`);
      const writes = Array.from({ length: 20 }, (_, i) => createCategory(i % 2 ? server.base : secondBase, `Двое ${i}`));
      await Promise.all(writes);
      const [a, b] = await Promise.all([onFirst.take(20), onSecond.take(20)]);
      expect(a).toHaveLength(20);
      expect(b.map((event) => event.id)).toEqual(a.map((event) => event.id));
      expect(a.map((event) => BigInt(event.id))).toEqual(a.map((event) => BigInt(event.id)).sort((x, y) => (x < y ? -1 : 1)));
      // A write on one server reaches a stream on the other promptly, through NOTIFY.
      const began = Date.now();
      await createCategory(server.base, 'Быстро');
      expect(await onSecond.take(1)).toHaveLength(1);
      expect(Date.now() - began).toBeLessThan(2_000);
      onFirst.close();
      onSecond.close();
    } finally {
      await second.close();
      await other.close();
    }
  });

  it('lets a consumer that saved its last id resume after a server restart, nothing missed or repeated', async () => {
    const db = createDatabase(sameDatabase(server.db));
    const start = async () => {
      const app = buildApp({ db });
      await app.listen({ port: 0, host: '127.0.0.1' });
      return { app, base: `http://127.0.0.1:${(app.server.address() as { port: number }).port}` };
    };
    let saved = await newest(server.base);
    const received: string[] = [];
    const consume = async (base: string) => {
      for (;;) {
        const next = await page(base, `after=${saved}&types=category.created&wait=1`);
        if (!next.items.length) return;
        received.push(...next.items.map((event) => (event.data as { name: string }).name));
        saved = next.next_after;
      }
    };
    const first = await start();
    await createCategory(first.base, 'До 1');
    await createCategory(first.base, 'До 2');
    await consume(first.base);
    await createCategory(first.base, 'Во время остановки 1');
    await first.app.close();
    // Written while no server of ours runs (an operator's psql session).
    await db.query(`INSERT INTO categories (name) VALUES ('Во время остановки 2')`);
    const second = await start();
    await createCategory(second.base, 'После');
    await consume(second.base);
    await second.app.close();
    await db.close();
    expect(received).toEqual(['До 1', 'До 2', 'Во время остановки 1', 'Во время остановки 2', 'После']);
  });
});
