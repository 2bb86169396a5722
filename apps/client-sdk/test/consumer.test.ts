/**
 * The SDK as a service in another repository gets it: packed, installed with npm into an empty directory
 * outside the workspace (public-registry dependencies only), compiled by a strict consumer without
 * skipLibCheck on TypeScript 5.9 and the latest release, in nodenext and bundler projects, then run against
 * a live server.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CONTRACT_VERSION } from '@tradeos/contract';
import { seed } from '@tradeos/db';
import { createMigratedDatabase } from '@tradeos/db/testing';
import { buildApp } from '@tradeos/server/app';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

const run = promisify(execFile);
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const TYPESCRIPTS = { 'typescript-5.9': 'typescript@5.9.3', 'typescript-latest': 'typescript@latest' };

let work: string;
let tarball: string;
let consumer: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tradeos-sdk-consumer-'));
  const { stdout } = await run('pnpm', ['pack', '--pack-destination', work], { cwd: packageDir });
  tarball = join(work, (await readdir(work)).find((name) => name.endsWith('.tgz'))!);
  expect(stdout).toContain('tradeos-client-sdk');

  consumer = join(work, 'consumer');
  await cp(fileURLToPath(new URL('consumer', import.meta.url)), consumer, { recursive: true });
  const installs = Object.entries(TYPESCRIPTS).map(([alias, spec]) => `${alias}@npm:${spec}`);
  await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball, '@types/node@20', 'eventsource@5.1.5', ...installs], { cwd: consumer });
}, 300_000);
afterAll(() => rm(work, { recursive: true, force: true }));

describe('the packed SDK', () => {
  it('holds only its build, README and package.json, under 100 KB', async () => {
    const { stdout } = await run('tar', ['-tzf', tarball]);
    expect(stdout.trim().split('\n').sort()).toEqual(
      ['package/README.md', 'package/dist/index.cjs', 'package/dist/index.d.cts', 'package/dist/index.d.ts', 'package/dist/index.js', 'package/package.json'],
    );
    expect((await stat(tarball)).size).toBeLessThan(100 * 1024);
  });

  it('depends on public packages only, and is versioned as the contract', async () => {
    const { stdout } = await run('tar', ['-xzOf', tarball, 'package/package.json']);
    const manifest = JSON.parse(stdout) as { version: string; dependencies: Record<string, string>; peerDependencies?: object };
    expect(manifest.version).toBe(CONTRACT_VERSION);
    expect(Object.keys(manifest.dependencies).sort()).toEqual(['@trpc/client', '@trpc/server', 'zod']);
    expect(manifest.peerDependencies).toBeUndefined();
    expect(await readdir(join(consumer, 'node_modules'))).not.toContain('@tradeos/api');
    expect(await readdir(join(consumer, 'node_modules', '@tradeos'))).toEqual(['client-sdk']);
  });

  for (const typescript of Object.keys(TYPESCRIPTS)) {
    for (const project of ['nodenext', 'bundler']) {
      it(`compiles a strict ${project} consumer with ${typescript}, skipLibCheck off`, async () => {
        const tsc = join(consumer, 'node_modules', typescript, 'bin', 'tsc');
        const result = await run(tsc, ['-p', `tsconfig.${project}.json`], { cwd: consumer }).catch((error: { stdout: string; code: number }) => error);
        expect(result.stdout).toBe('');
      });
    }
  }

  describe('run against a live server', () => {
    let close: () => Promise<void>;
    let base: string;

    beforeAll(async () => {
      const { db, drop } = await createMigratedDatabase(inject('adminUrl'));
      await seed(db);
      const app = buildApp({ db });
      await app.listen({ port: 0, host: '127.0.0.1' });
      base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      close = async () => {
        await app.close();
        await drop();
      };
      await run(join(consumer, 'node_modules', 'typescript-5.9', 'bin', 'tsc'), ['-p', 'tsconfig.nodenext.json'], { cwd: consumer });
    });
    afterAll(() => close());

    it('works from ESM: typed pages, contract errors', async () => {
      const { stdout } = await run('node', [join(consumer, 'out', 'consumer.js'), base]);
      const cheapest = ((await (await fetch(`${base}/products?sort_by=price&order=asc&limit=1`)).json()) as { items: { price: number }[] }).items[0]!.price;
      expect(JSON.parse(stdout)).toEqual({ inferred: true, total: 48, price: cheapest, refused: 'UNPROCESSABLE_CONTENT', missing: '404 NOT_FOUND', walked: 48, replayed: true, first: 'category.created', firstName: 'Электроника' });
    });

    it('works from CommonJS', async () => {
      const { stdout } = await run('node', [join(consumer, 'out', 'consumer.cjs'), base]);
      expect(JSON.parse(stdout)).toEqual({ categories: ['Книги', 'Мебель', 'Одежда', 'Электроника'] });
    });
  });
});
