import { get, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startServer, type LiveServer } from './helpers.js';

// Two connections per pool: a thousand waiters that each took one, even briefly, would be answered busy.
let server: LiveServer;

beforeAll(async () => {
  server = await startServer({ database: { pool: { max: 2, acquireTimeoutMs: 500 } } });
});
afterAll(() => server.close());

/** A GET on a socket of its own, as each of a thousand separate consumers would send it. */
const open = (path: string) => new Promise<IncomingMessage>((resolve, reject) => get(`${server.base}${path}`, { agent: false }, resolve).on('error', reject));

async function text(response: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of response) body += String(chunk);
  return body;
}

const head = async () => ((await call(server.base, 'GET', '/events?limit=1000')).body as { next_after: string }).next_after;

/** Reads an event stream until its first event, and returns it. */
async function firstStreamed(after: string): Promise<{ status: number; event?: { entity_id: number } }> {
  const response = await open(`/events/stream?after=${after}`);
  if (response.statusCode !== 200) return { status: response.statusCode ?? 0 };
  let read = '';
  for await (const chunk of response) {
    read += String(chunk);
    const data = /^data: (.*)$/m.exec(read);
    if (data) {
      response.destroy();
      return { status: 200, event: JSON.parse(data[1]!) as { entity_id: number } };
    }
  }
  return { status: 200 };
}

describe('waiting consumers', () => {
  it('1 000 long polls and 300 streams woken by one write all get its event, none a 503, with two connections per pool', async () => {
    const after = await head();
    const polls = Array.from({ length: 1_000 }, async () => {
      const response = await open(`/events?after=${after}&wait=30`);
      return { status: response.statusCode ?? 0, body: JSON.parse(await text(response)) as { items: { entity_id: number }[] } };
    });
    const streams = Array.from({ length: 300 }, () => firstStreamed(after));
    // Every consumer is connected before the write (the server holds them all), so each is woken by it.
    await expect.poll(() => new Promise<number>((resolve) => server.app.server.getConnections((_error, count) => resolve(count))), { timeout: 60_000 }).toBeGreaterThanOrEqual(1_300);

    const created = await call(server.base, 'POST', '/products', { name: 'Для всех', price: 1 });
    expect(created.status).toBe(201);
    const id = (created.body as { id: number }).id;
    const single = await call(server.base, 'GET', `/products/${id}`);
    expect(single.status).toBe(200);

    const answers = await Promise.all(polls);
    const statuses = answers.reduce<Record<number, number>>((tally, { status }) => ({ ...tally, [status]: (tally[status] ?? 0) + 1 }), {});
    expect(statuses).toEqual({ 200: 1_000 });
    for (const { body } of answers) expect(body.items.map((event) => event.entity_id)).toEqual([id]);
    const streamed = await Promise.all(streams);
    expect(streamed.filter(({ status, event }) => status !== 200 || event?.entity_id !== id)).toEqual([]);
  });

  it('a GET /events sent as soon as a write was answered holds its event, every time', async () => {
    for (let i = 0; i < 30; i += 1) {
      const after = await head();
      const created = await call(server.base, 'POST', '/products', { name: `Сразу ${i}`, price: 1 });
      const page = await call(server.base, 'GET', `/events?after=${after}`);
      expect((page.body as { items: { entity_id: number }[] }).items.map((event) => event.entity_id), `write ${i}`).toEqual([(created.body as { id: number }).id]);
    }
  });
});
