/**
 * The scaled topology of docker-compose.scale.yml, without containers (contract v1.3): a PostgreSQL primary and a
 * streaming replica (tooling/cluster/postgres.ts), PgBouncer in transaction mode in front of the primary
 * (tooling/cluster/pgbouncer.ts), two server processes configured as the compose file configures api-1 and api-2, and
 * a round-robin load balancer in front of them (a few lines of node:http, as nginx is in the file).
 */
import { request, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, withDatabaseName } from '@tradeos/db/testing';
import { startPgBouncer, type PgBouncer } from '../../../tooling/cluster/pgbouncer.js';
import { startCluster, until, type Cluster } from '../../../tooling/cluster/postgres.js';
import { call, spawnServer, type SpawnedServer } from './helpers.js';

let cluster: Cluster;
let bouncer: PgBouncer;
let instances: SpawnedServer[] = [];
let balancer: Server;
let lb: string;
let dropDatabase: () => Promise<void>;
let replicaUrl: string;
const served: string[] = [];

/** Round robin over the instances, the request passed through as it came (method, path, headers, body). */
function balance(bases: string[]): Server {
  let next = 0;
  return createServer((incoming: IncomingMessage, outgoing: ServerResponse) => {
    const base = bases[next++ % bases.length]!;
    served.push(base);
    const upstream = request(new URL(incoming.url ?? '/', base), { method: incoming.method, headers: incoming.headers }, (answer) => {
      outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(outgoing);
    });
    upstream.on('error', () => {
      outgoing.writeHead(502).end();
    });
    incoming.pipe(upstream);
  });
}

beforeAll(async () => {
  cluster = await startCluster();
  const database = await createTestDatabase(cluster.primary.url());
  dropDatabase = database.drop;
  const name = decodeURIComponent(new URL(database.url).pathname.slice(1));
  // Behind a transaction pooler the server-side statement timeout is the database's (or the role's) setting.
  await cluster.primary.sql(`ALTER DATABASE "${name.replaceAll('"', '""')}" SET statement_timeout = '10s'`);
  bouncer = await startPgBouncer({ host: '127.0.0.1', port: cluster.primary.port, users: [new URL(database.url).username] });
  replicaUrl = withDatabaseName(cluster.replicas[0]!.url(), name);
  const connection = {
    DATABASE_URL: bouncer.through(database.url),
    DATABASE_POOLER: 'transaction',
    DATABASE_DIRECT_URL: database.url,
    DATABASE_REPLICA_URLS: replicaUrl,
  };
  // One at a time: the first migrates (through the direct URL, under the advisory lock), the second finds nothing to do.
  for (let index = 0; index < 2; index += 1) instances.push(await spawnServer({}, { databaseUrl: database.url, connection }));
  balancer = balance(instances.map((instance) => instance.base));
  await new Promise<void>((resolve) => balancer.listen(0, '127.0.0.1', resolve));
  lb = `http://127.0.0.1:${(balancer.address() as AddressInfo).port}`;
  await until('both instances see a healthy replica', async () => {
    const answers = await Promise.all(instances.map((instance) => call(instance.base, 'GET', '/health')));
    return answers.every((answer) => (answer.body as { replicas?: { healthy: number } }).replicas?.healthy === 1);
  });
});

afterAll(async () => {
  await new Promise((resolve) => (balancer ? balancer.close(resolve) : resolve(undefined)));
  await Promise.all(instances.map((instance) => instance.stop()));
  instances = [];
  await bouncer?.stop();
  await dropDatabase?.();
  await cluster?.stop();
});

describe('primary, replica, PgBouncer, two instances, a load balancer', () => {
  it('answers /health through the balancer from both instances, each counting the replica', async () => {
    for (let index = 0; index < 4; index += 1) {
      const answer = await call(lb, 'GET', '/health');
      expect(answer.status).toBe(200);
      expect((answer.body as { replicas: unknown }).replicas).toEqual({ healthy: 1, total: 1 });
    }
    expect(new Set(served.slice(-4))).toEqual(new Set(instances.map((instance) => instance.base)));
  });

  it('reads every write through the other instance when the read carries the write\'s position: 200 pairs, no stale read', async () => {
    let stale = 0;
    for (let index = 0; index < 200; index += 1) {
      const created = await call(lb, 'POST', '/products', { name: `Топология ${index}`, price: 10 + index });
      expect(created.status).toBe(201);
      const { id } = created.body as { id: number };
      const position = created.headers.get('x-catalog-position')!;
      const changed = await call(lb, 'PUT', `/products/${id}`, { price: 1000 + index }, { 'x-catalog-min-position': position });
      expect(changed.status).toBe(200);
      const read = await call(lb, 'GET', `/products/${id}`, undefined, { 'x-catalog-min-position': changed.headers.get('x-catalog-position')! });
      if (read.status !== 200 || (read.body as { price: number }).price !== 1000 + index) stale += 1;
    }
    expect(stale).toBe(0);
  });

  it('serves reads from the replica: its scans of products grow while the balancer serves pages', async () => {
    const scans = async () => {
      const [row] = await cluster.replicas[0]!.sql<{ scans: string }>(
        `SELECT coalesce(sum(coalesce(idx_scan, 0) + coalesce(seq_scan, 0)), 0)::text AS scans FROM pg_stat_user_tables WHERE relname = 'products'`,
        [],
        decodeURIComponent(new URL(replicaUrl).pathname.slice(1)),
      );
      return BigInt(row?.scans ?? '0');
    };
    const before = await scans();
    for (let index = 0; index < 20; index += 1) expect((await call(lb, 'GET', '/products?limit=5')).status).toBe(200);
    await until('the replica counted the reads', async () => (await scans()) > before);
  });

  it('shows each instance\'s replica as healthy on its /metrics', async () => {
    for (const instance of instances) {
      const text = (await call(instance.base, 'GET', '/metrics')).text;
      expect(text).toMatch(/catalog_replica_state\{replica="[^"]+",state="healthy"\} 1/);
      expect(text).toMatch(/catalog_db_pool_connections_max\{pool="replica 1"\} \d+/);
    }
  });
});
