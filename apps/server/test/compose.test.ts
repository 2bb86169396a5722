import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = new URL('../../../', import.meta.url);
const read = (file: string) => readFile(new URL(file, root), 'utf8');

interface Service {
  build?: string;
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  volumes?: string[];
}

describe('docker compose stack', () => {
  it('is valid YAML with postgres (healthcheck, named volume), a one-shot migrate job and the server', async () => {
    const compose = parse(await read('docker-compose.yml')) as { services: Record<string, Service>; volumes: Record<string, unknown> };
    const { postgres, migrate, server } = compose.services;
    expect(Object.keys(compose.services).sort()).toEqual(['migrate', 'postgres', 'server']);
    expect(postgres?.healthcheck?.test.join(' ')).toContain('pg_isready');
    expect(postgres?.volumes).toEqual(['pgdata:/var/lib/postgresql/data']);
    expect(Object.keys(compose.volumes)).toEqual(['pgdata']);
    expect(migrate?.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    expect(server?.depends_on?.migrate).toEqual({ condition: 'service_completed_successfully' });
    expect(server?.environment?.HOST).toBe('0.0.0.0');
    for (const service of [migrate, server]) expect(service?.environment?.DATABASE_URL).toMatch(/^postgres:\/\/.+@postgres:5432\/catalog$/);
  });

  it('uses only the commands the README documents, and each is a real root script', async () => {
    const [compose, dockerfile, readme, pkg] = await Promise.all([
      read('docker-compose.yml'),
      read('Dockerfile'),
      read('README.md'),
      read('package.json'),
    ]);
    const scripts = Object.keys((JSON.parse(pkg) as { scripts: Record<string, string> }).scripts);
    const used = new Set([...`${compose}\n${dockerfile}`.matchAll(/pnpm[ "',\]]+([a-z][a-z:]*)/g)].map((m) => m[1]!));
    used.delete('install');
    expect(used.size).toBeGreaterThan(0);
    for (const command of used) {
      expect(scripts, `pnpm ${command} is a root script`).toContain(command);
      expect(readme, `README documents pnpm ${command}`).toContain(`pnpm ${command}`);
    }
  });

  it('keeps secrets out of the file: the database password comes from the environment', async () => {
    const compose = await read('docker-compose.yml');
    expect(compose).toContain('${POSTGRES_PASSWORD:?');
    expect(compose).not.toMatch(/POSTGRES_PASSWORD:\s+[^$\s]/);
  });
});
