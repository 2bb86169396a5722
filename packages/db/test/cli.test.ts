import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../src/embedded.js';
import { createTestDatabase, type TestDatabase } from '../src/testing.js';

// The compiled CLI, exactly as `pnpm db:*` runs it (turbo builds the package before its tests).
const cli = new URL('../dist/cli.js', import.meta.url).pathname;
const run = promisify(execFile);

async function db(args: string[], databaseUrl: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], { env: { ...process.env, DATABASE_URL: databaseUrl } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
    return { code, stdout, stderr };
  }
}

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase(inject('adminUrl'));
});
afterAll(() => database.drop());

describe('the migration CLI', () => {
  it('upgrades, reports status, downgrades one and all, like Alembic', async () => {
    const up = await db(['upgrade', 'head'], database.url);
    expect(up.code).toBe(0);
    expect(up.stdout).toMatch(/applied \d+ migration\(s\)/);
    expect((await db(['upgrade', 'head'], database.url)).stdout).toContain('already at head');

    const status = await db(['status'], database.url);
    // The newest migration changes as migrations are added: read it from the output rather than naming it.
    const newest = /^current: (\S+)$/m.exec(status.stdout)?.[1];
    expect(newest).toMatch(/^\d{4}\.\d{2}\.\d{2}T\d{2}\.\d{2}\.\d{2}\.[a-z0-9-]+$/);
    expect(status.stdout).toMatch(/\[applied\] \S+create-categories/);
    expect(status.stdout).toMatch(/\[applied\] \S+create-products/);

    const down = await db(['downgrade', '-1'], database.url);
    expect(down.stdout).toContain('reverted 1 migration(s)');
    const history = await db(['history'], database.url);
    expect(history.stdout).toContain(`[pending] ${newest}`);

    expect((await db(['downgrade', 'base'], database.url)).code).toBe(0);
    expect((await db(['current'], database.url)).stdout).toContain('base (no migration applied)');
  });

  it('seeds, and adds N synthetic products with --count', async () => {
    await db(['upgrade', 'head'], database.url);
    const seeded = await db(['seed', '--count', '250'], database.url);
    expect(seeded.code).toBe(0);
    expect(seeded.stdout).toContain('seeded 4 categorie(s)');
    expect(seeded.stdout).toContain('added 250 synthetic product(s)');
    expect((await db(['seed'], database.url)).stdout).toContain('seeded 0 categorie(s) and 0 product(s)');
  });

  it('writes a new timestamped migration from the template', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'revision-'));
    try {
      const result = await db(['revision', '-m', 'Add brand column', '--dir', dir], database.url);
      expect(result.code).toBe(0);
      const [file] = await readdir(dir);
      expect(file).toMatch(/^\d{4}\.\d{2}\.\d{2}T\d{2}\.\d{2}\.\d{2}\.add-brand-column\.ts$/);
      const source = await readFile(join(dir, file!), 'utf8');
      expect(source).toContain('export const up: Migration');
      expect(source).toContain('export const down: Migration');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails with one clear line, no stack, when the database is unreachable', async () => {
    const result = await db(['upgrade', 'head'], `postgres://postgres@127.0.0.1:${await freePort()}/nowhere`);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^error: cannot reach the database/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('explains its usage on a wrong command', async () => {
    const result = await db(['upgrade', 'sideways'], database.url);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('usage:');
  });
});
