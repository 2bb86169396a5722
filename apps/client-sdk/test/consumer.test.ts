/**
 * The SDK as a service in another repository gets it: packed, installed with npm into empty directories outside
 * the workspace (public-registry dependencies only) twice, once with the latest versions its `^` ranges allow and
 * once with the lowest (each range's own floor, pinned by the consumer as a project already on it would be), then
 * compiled by strict consumers without skipLibCheck (TypeScript 5.9, and the latest release on the latest
 * install; nodenext and bundler; an ESM project and one made like `npm init -y`, CommonJS) and run against a live
 * server.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
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
const npmInstall = ['install', '--no-audit', '--no-fund', '--loglevel=error'];

let work: string;
let tarball: string;
let ranges: Record<string, string>;
/** Consumer projects by the versions of the SDK's dependencies they were installed with. */
const consumers = { latest: '', lowest: '' };

async function installedVersion(project: string, name: string): Promise<string> {
  return (JSON.parse(await readFile(join(project, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

/** The newest published version a range allows, as npm sees the registry now. */
async function newestMatching(name: string, range: string): Promise<string> {
  const { stdout } = await run('npm', ['view', `${name}@${range}`, 'version', '--json']);
  const versions = JSON.parse(stdout) as string | string[];
  return Array.isArray(versions) ? versions.at(-1)! : versions;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tradeos-sdk-consumer-'));
  const { stdout } = await run('pnpm', ['pack', '--pack-destination', work], { cwd: packageDir });
  tarball = join(work, (await readdir(work)).find((name) => name.endsWith('.tgz'))!);
  expect(stdout).toContain('tradeos-client-sdk');
  ranges = (JSON.parse((await run('tar', ['-xzOf', tarball, 'package/package.json'])).stdout) as { dependencies: Record<string, string> }).dependencies;

  const common = [tarball, '@types/node@20', 'eventsource@5.1.5'];
  const floors = Object.entries(ranges).map(([name, range]) => `${name}@${range.replace(/^\^/, '')}`);
  const installs = {
    latest: [...common, ...Object.entries(TYPESCRIPTS).map(([alias, spec]) => `${alias}@npm:${spec}`)],
    lowest: [...common, ...floors, `typescript-5.9@npm:${TYPESCRIPTS['typescript-5.9']}`],
  };
  await Promise.all(
    Object.entries(installs).map(async ([versions, packages]) => {
      const project = join(work, versions);
      await cp(fileURLToPath(new URL('consumer', import.meta.url)), project, { recursive: true });
      await run('npm', [...npmInstall, ...packages], { cwd: project });
      consumers[versions as keyof typeof consumers] = project;
    }),
  );
}, 400_000);
afterAll(() => rm(work, { recursive: true, force: true }));

const tsc = (project: string, typescript: string, args: string[], cwd = project) =>
  run(join(project, 'node_modules', typescript, 'bin', 'tsc'), args, { cwd }).catch((error: { stdout: string; code: number }) => error);

describe('the packed SDK', () => {
  it('holds only its build, README and package.json, under 100 KB', async () => {
    const { stdout } = await run('tar', ['-tzf', tarball]);
    expect(stdout.trim().split('\n').sort()).toEqual(
      ['package/README.md', 'package/dist/index.cjs', 'package/dist/index.d.cts', 'package/dist/index.d.ts', 'package/dist/index.js', 'package/package.json'],
    );
    expect((await stat(tarball)).size).toBeLessThan(100 * 1024);
  });

  it('depends on public packages only, by ^ ranges, and is versioned as the contract', async () => {
    const { stdout } = await run('tar', ['-xzOf', tarball, 'package/package.json']);
    const manifest = JSON.parse(stdout) as { version: string; dependencies: Record<string, string>; peerDependencies?: object };
    expect(manifest.version).toBe(CONTRACT_VERSION);
    expect(Object.keys(manifest.dependencies).sort()).toEqual(['@trpc/client', '@trpc/server', 'zod']);
    for (const range of Object.values(manifest.dependencies)) expect(range).toMatch(/^\^\d+\.\d+\.\d+$/);
    expect(manifest.peerDependencies).toBeUndefined();
    for (const project of Object.values(consumers)) {
      expect(await readdir(join(project, 'node_modules'))).not.toContain('@tradeos/api');
      expect(await readdir(join(project, 'node_modules', '@tradeos'))).toEqual(['client-sdk']);
    }
  });

  it("installs each range's floor and its newest version, once each: no second copy under the SDK", async () => {
    for (const [name, range] of Object.entries(ranges)) {
      expect(await installedVersion(consumers.lowest, name)).toBe(range.replace(/^\^/, ''));
      expect(await installedVersion(consumers.latest, name)).toBe(await newestMatching(name, range));
    }
    for (const project of Object.values(consumers)) {
      await expect(stat(join(project, 'node_modules', '@tradeos', 'client-sdk', 'node_modules'))).rejects.toMatchObject({ code: 'ENOENT' });
    }
  });

  for (const typescript of Object.keys(TYPESCRIPTS)) {
    for (const project of ['nodenext', 'bundler']) {
      it(`compiles a strict ${project} consumer with ${typescript}, skipLibCheck off`, async () => {
        expect((await tsc(consumers.latest, typescript, ['-p', `tsconfig.${project}.json`])).stdout).toBe('');
      });
    }
    it(`compiles a CommonJS project (npm init -y, nodenext) with ${typescript}; top-level await there is TS1309, as the README says`, async () => {
      const commonjs = join(consumers.latest, 'commonjs');
      expect((await tsc(consumers.latest, typescript, ['-p', 'tsconfig.json'], commonjs)).stdout).toBe('');
      const topLevel = await tsc(consumers.latest, typescript, ['-p', 'tsconfig.top-level-await.json'], commonjs);
      expect(topLevel.stdout).toContain('error TS1309');
    });
  }

  it('compiles the same consumers on the lowest versions with TypeScript 5.9', async () => {
    expect((await tsc(consumers.lowest, 'typescript-5.9', ['-p', 'tsconfig.nodenext.json'])).stdout).toBe('');
    expect((await tsc(consumers.lowest, 'typescript-5.9', ['-p', 'tsconfig.json'], join(consumers.lowest, 'commonjs'))).stdout).toBe('');
  });

  for (const versions of Object.keys(consumers) as (keyof typeof consumers)[]) {
    describe(`run against a live server (${versions} dependencies)`, () => {
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
        await tsc(consumers[versions], 'typescript-5.9', ['-p', 'tsconfig.nodenext.json']);
        await tsc(consumers[versions], 'typescript-5.9', ['-p', 'tsconfig.json'], join(consumers[versions], 'commonjs'));
        // Two TypeScript compiles: about a minute on a quiet machine, several on one whose cores are busy.
      }, 600_000);
      afterAll(() => close());

      it('works from ESM: typed pages, contract errors', async () => {
        const { stdout } = await run('node', [join(consumers[versions], 'out', 'consumer.js'), base]);
        const cheapest = ((await (await fetch(`${base}/products?sort_by=price&order=asc&limit=1`)).json()) as { items: { price: number }[] }).items[0]!.price;
        expect(JSON.parse(stdout)).toEqual({ inferred: true, total: 48, price: cheapest, refused: 'UNPROCESSABLE_CONTENT', missing: '404 NOT_FOUND', walked: 48, replayed: true, first: 'category.created', firstName: 'Электроника' });
      });

      it('works from CommonJS: a .cts file, and a "type": "commonjs" project', async () => {
        const cts = await run('node', [join(consumers[versions], 'out', 'consumer.cjs'), base]);
        expect(JSON.parse(cts.stdout)).toEqual({ categories: ['Книги', 'Мебель', 'Одежда', 'Электроника'] });
        const project = await run('node', [join(consumers[versions], 'commonjs', 'out', 'index.js'), base]);
        expect(JSON.parse(project.stdout)).toEqual({ module: 'commonjs', found: true, missing: 'NOT_FOUND' });
      });
    });
  }
});
