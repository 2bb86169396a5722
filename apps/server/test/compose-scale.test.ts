/** docker-compose.scale.yml's wiring (contract v1.3): who talks to whom, with which settings; CI validates the syntax. */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadEnv } from '../src/env.js';

const root = new URL('../../../', import.meta.url);
const read = (file: string) => readFile(new URL(file, root), 'utf8');

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  volumes?: string[];
  ports?: string[];
  user?: string;
}

const scale = async () => parse(await read('docker-compose.scale.yml')) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const host = (url: string | undefined) => (url === undefined ? undefined : new URL(url).host);

describe('docker-compose.scale.yml', () => {
  it('is a primary, a streaming replica, PgBouncer, two API instances and a load balancer', async () => {
    const { services, volumes } = await scale();
    expect(Object.keys(services).sort()).toEqual(['api-1', 'api-2', 'lb', 'pgbouncer', 'primary', 'replica']);
    expect(Object.keys(volumes).sort()).toEqual(['primary-data', 'replica-data']);
    expect(services.primary?.command).toEqual(expect.arrayContaining(['wal_level=replica']));
    const replica = [...(services.replica?.entrypoint ?? []), ...(services.replica?.command ?? [])].join(' ');
    expect(replica).toMatch(/pg_basebackup -h primary -U catalog -D "\$\$PGDATA" -R -X stream/);
    expect(services.replica?.user).toBe('postgres');
    expect(services.pgbouncer?.environment).toMatchObject({ DB_HOST: 'primary', POOL_MODE: 'transaction', QUERY_WAIT_TIMEOUT: '2' });
  });

  it('points each instance at PgBouncer for requests, the primary for sessions, the replica for reads', async () => {
    const { services } = await scale();
    for (const name of ['api-1', 'api-2']) {
      const env = services[name]?.environment ?? {};
      expect(host(env.DATABASE_URL), name).toBe('pgbouncer:5432');
      expect(env.DATABASE_POOLER, name).toBe('transaction');
      expect(host(env.DATABASE_DIRECT_URL), name).toBe('primary:5432');
      expect(host(env.DATABASE_REPLICA_URLS), name).toBe('replica:5432');
      expect(services[name]?.depends_on, name).toMatchObject({ primary: { condition: 'service_healthy' }, replica: { condition: 'service_healthy' } });
      // What the server itself makes of it: accepted, a pooler in transaction mode with a direct URL.
      const literal = Object.fromEntries(Object.entries(env).filter(([, value]) => !value.includes('${')));
      const { database } = loadEnv(literal);
      expect(database).toMatchObject({ pooler: 'transaction', directUrl: env.DATABASE_DIRECT_URL, url: env.DATABASE_URL });
    }
    expect(services['api-1']?.image).toBe(services['api-2']?.image);
    expect(Object.values(services).filter((service) => service.build)).toHaveLength(1);
  });

  it('balances over both instances, and publishes only the load balancer, on loopback', async () => {
    const { services } = await scale();
    expect(services.lb?.volumes).toEqual(['./deploy/scale/nginx.conf:/etc/nginx/conf.d/default.conf:ro']);
    const nginx = await read('deploy/scale/nginx.conf');
    expect(nginx).toMatch(/server api-1:8000\b/);
    expect(nginx).toMatch(/server api-2:8000\b/);
    expect(nginx).toMatch(/proxy_buffering off;/);
    const published = Object.entries(services).filter(([, service]) => service.ports?.length);
    expect(published.map(([name]) => name)).toEqual(['lb']);
    expect(services.lb?.ports).toEqual(['127.0.0.1:8080:8080']);
  });

  it("lets the replica stream and gives the role its statement timeout at the primary's first start", async () => {
    const { services } = await scale();
    expect(services.primary?.volumes).toContain('./deploy/scale/primary-init.sh:/docker-entrypoint-initdb.d/10-scale.sh:ro');
    const init = await read('deploy/scale/primary-init.sh');
    expect(init).toContain('host replication catalog all scram-sha-256');
    expect(init).toContain(`ALTER ROLE catalog SET statement_timeout = '10s'`);
  });

  it('holds no secret: every password is interpolated from the environment, none is in a URL', async () => {
    const text = await read('docker-compose.scale.yml');
    expect(text).not.toMatch(/postgres:\/\/[^@\s]*:[^@\s]*@/);
    for (const line of text.split('\n').filter((line) => /PASSWORD:/.test(line))) {
      expect(line.trim()).toMatch(/^\w*PASSWORD: \$\{POSTGRES_PASSWORD:\?set POSTGRES_PASSWORD\}$/);
    }
  });
});
