import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = new URL('../../../', import.meta.url);
const read = (file: string) => readFile(new URL(file, root), 'utf8');

interface Service {
  build?: string;
  image?: string;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  volumes?: string[];
  ports?: string[];
  restart?: string;
  profiles?: string[];
}

const compose = async () => parse(await read('docker-compose.yml')) as { services: Record<string, Service>; volumes: Record<string, unknown> };

describe('docker compose stack', () => {
  it('is postgres (TCP healthcheck, named volume) and the server, which migrates and seeds at start', async () => {
    const { services, volumes } = await compose();
    const { postgres, server } = services;
    expect(Object.keys(services).sort()).toEqual(['db', 'postgres', 'server']);
    // Without -h, pg_isready asks the socket, where the image's temporary init server already answers.
    expect(postgres?.healthcheck?.test).toEqual(['CMD', 'pg_isready', '-h', '127.0.0.1', '-p', '5432', '-U', 'catalog', '-d', 'catalog']);
    expect(postgres?.volumes).toEqual(['pgdata:/var/lib/postgresql/data']);
    expect(Object.keys(volumes)).toEqual(['pgdata']);
    expect(server?.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    expect(server?.environment).toMatchObject({ MIGRATE_ON_START: 'true', SEED_ON_START: 'true' });
    expect(server?.command).toBeUndefined();
  });

  it('recovers by itself: a failed start (migration included) is retried by the restart policy', async () => {
    const { services } = await compose();
    for (const name of ['postgres', 'server']) expect(services[name]?.restart, name).toBe('unless-stopped');
    for (const service of Object.values(services)) expect(service.depends_on?.migrate).toBeUndefined();
  });

  it('keeps the password out of the URL (the driver reads PGPASSWORD), so no character needs encoding', async () => {
    const text = await read('docker-compose.yml');
    const { services } = await compose();
    for (const name of ['server', 'db']) {
      expect(services[name]?.environment?.DATABASE_URL, name).toBe('postgres://catalog@postgres:5432/catalog');
      expect(services[name]?.environment?.PGPASSWORD, name).toBe('${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}');
    }
    expect(text).not.toMatch(/postgres:\/\/[^@\s]*:\$\{/);
    expect(text).not.toMatch(/POSTGRES_PASSWORD:\s+[^$\s]/);
  });

  it('publishes the API on loopback only unless an operator opts in, and names the one image it builds', async () => {
    const { services } = await compose();
    expect(services.server?.ports).toEqual(['127.0.0.1:8000:8000']);
    const built = Object.values(services).filter((service) => service.build);
    expect(built).toHaveLength(1);
    expect(built[0]?.image).toBe('tradeos-catalog:latest');
    expect(services.db).toMatchObject({ image: 'tradeos-catalog:latest', profiles: ['tools'] });
    expect(services.db?.entrypoint).toEqual(['node', 'node_modules/@tradeos/db/dist/ops/cli.js']);
  });
});
