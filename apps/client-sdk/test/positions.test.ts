/**
 * Contract v1.3 through the SDK against a real server on a real primary and streaming replica: the client keeps the
 * highest position it has seen and sends it with every read, so it reads its own writes.
 */
import type { AddressInfo } from 'node:net';
import { buildApp } from '@tradeos/server/app';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openClusterDatabase, startCluster, type Cluster } from '../../../tooling/cluster/postgres.js';
import { createCatalogClient, type CatalogClientOptions } from '../src/index.js';

let cluster: Cluster;
let database: Awaited<ReturnType<typeof openClusterDatabase>>;
let app: ReturnType<typeof buildApp>;
let base: string;

interface Sent {
  method: string;
  minPosition: string | null;
  position: string | null;
}

/** A `fetch` that records each request's X-Catalog-Min-Position and its response's X-Catalog-Position. */
function recordingFetch(): { sent: Sent[]; fetch: NonNullable<CatalogClientOptions['fetch']> } {
  const sent: Sent[] = [];
  return {
    sent,
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      sent.push({ method: init?.method ?? 'GET', minPosition: new Headers(init?.headers).get('x-catalog-min-position'), position: response.headers.get('x-catalog-position') });
      return response;
    },
  };
}

beforeAll(async () => {
  cluster = await startCluster();
  // A lag limit far past the test: a paused replica stays in the rotation, so only positions keep reads fresh.
  database = await openClusterDatabase(cluster, { replicaMaxLagMs: 600_000, pool: { max: 8 } });
  app = buildApp({ db: database.db });
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
  await cluster?.stop();
});

describe('the SDK and positions', () => {
  it('reads its own writes over 1 000 write→read pairs, sending the highest position it has seen with every read', async () => {
    const { sent, fetch } = recordingFetch();
    const client = createCatalogClient({ url: base, fetch });
    const product = await client.products.create.mutate({ name: 'Позиция', price: 1, quantity: 0 });
    let stale = 0;
    for (let i = 1; i <= 1_000; i += 1) {
      await client.products.update.mutate({ id: product.id, quantity: i });
      if ((await client.products.byId.query({ id: product.id })).quantity !== i) stale += 1;
    }
    expect(stale).toBe(0);
    const reads = sent.filter(({ method }) => method === 'GET');
    expect(reads).toHaveLength(1_000);
    let highest = '';
    for (const exchange of sent) {
      expect(exchange.position).toMatch(/^[0-9A-F]{16}$/);
      if (exchange.method === 'GET') expect(exchange.minPosition).toBe(highest);
      else expect(exchange.minPosition).toBeNull();
      if (exchange.position! > highest) highest = exchange.position!;
    }
  }, 300_000);

  it('with replay paused, the SDK still reads its write (from the primary) while a read without a position gets the replica\'s older data', async () => {
    const client = createCatalogClient({ url: base });
    const product = await client.products.create.mutate({ name: 'Пауза', price: 1, quantity: 0 });
    await cluster.caughtUp();
    await cluster.pause(cluster.replicas[0]!);
    try {
      await client.products.update.mutate({ id: product.id, quantity: 7 });
      expect((await client.products.byId.query({ id: product.id })).quantity).toBe(7);
      const unpositioned = await fetch(`${base}/products/${product.id}`);
      expect(((await unpositioned.json()) as { quantity: number }).quantity).toBe(0);
      // Another client that has seen nothing yet may be behind; once it has read the write's position, it is not.
      expect(database.db.replicas()[0]!.state).toBe('healthy');
    } finally {
      await cluster.resume(cluster.replicas[0]!);
    }
  });
});
