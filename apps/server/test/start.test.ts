/**
 * Ctrl-C on `pnpm start`: the terminal sends SIGINT to the whole foreground process group (pnpm, the script's shell,
 * node). The root `start` script ends by `exec`ing node, so pnpm's child is node itself, which shuts down cleanly and
 * exits 0, and pnpm exits 0 with it. Without the `exec`, the shell dies of the SIGINT while node is still stopping,
 * and pnpm reports `ELIFECYCLE Command failed` and ends itself by SIGINT (status 130 in a shell).
 *
 * The script runs as pnpm runs it, in a package of its own: the repository's `start` without its build step (the
 * compiled server is there already; a build while other test files run would rewrite what they import).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from '@tradeos/db';
import { createTestDatabase } from '@tradeos/db/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
let dir: string;
let start: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pnpm-start-'));
  ({ start } = (JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Runs `script` as `pnpm start` in its own process group, waits for /health, sends SIGINT to the group: pnpm's exit code and output. */
async function interrupted(script: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }> {
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'start-check', private: true, scripts: { start: script } }));
  const database = await createTestDatabase(inject('adminUrl'));
  const port = await freePort();
  const child = spawn('pnpm', ['start'], {
    cwd: dir,
    detached: true,
    env: { ...process.env, DATABASE_URL: database.url, MIGRATE_ON_START: 'true', SEED_ON_START: 'false', PORT: String(port), LOG_LEVEL: 'warn', API_KEYS: '', WORKERS: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  try {
    // Until the server answers (or pnpm exits): a start on a busy machine takes longer, it does not fail.
    while (child.exitCode === null && !(await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false))) await sleep(100);
    process.kill(-child.pid!, 'SIGINT');
    const [code, signal] = await exited;
    return { code, signal, output };
  } finally {
    await database.drop();
  }
}

describe('Ctrl-C on pnpm start', () => {
  it('reaches node itself: the server shuts down and pnpm exits 0, without ELIFECYCLE', async () => {
    expect(start).toMatch(/&& exec node (--\S+ )*apps\/server\/dist\/main\.js$/);
    const withoutBuild = start.replace(/^.*&& (exec node)/, '$1').replace('apps/server/dist/main.js', join(root, 'apps/server/dist/main.js'));
    const { code, signal, output } = await interrupted(withoutBuild);
    expect(output).toContain('SIGINT: shutting down');
    expect(output).not.toContain('ELIFECYCLE');
    expect({ code, signal }, output).toEqual({ code: 0, signal: null });
  });

  it('without exec, pnpm reports the shell killed by SIGINT: ELIFECYCLE and 130 (why the script execs node)', async () => {
    const { code, signal, output } = await interrupted(`true && node ${join(root, 'apps/server/dist/main.js')}`);
    expect(output).toContain('SIGINT: shutting down');
    expect(output).toContain('ELIFECYCLE');
    // pnpm ends itself with the signal, which a terminal's shell reports as 128 + 2.
    expect({ code, signal }, output).toEqual({ code: null, signal: 'SIGINT' });
  });
});
