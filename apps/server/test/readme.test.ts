/**
 * The README's curl sessions, pasted in order into one shell on a freshly started, seeded server, as a newcomer
 * would after `pnpm start`. A session is a fenced `sh` block that uses `$BASE`, or the `$ ` lines of a `console`
 * block that does. Left out: what never ends by design (a `while :` loop, a `curl -N` stream), which the README
 * shows as patterns for scripts. Each curl line's status is the one its comment names first (`# 201 …`, on the
 * line or on the indented comment line right below it), 200 when the comment names none.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnServer, type SpawnedServer } from './helpers.js';

const readme = new URL('../../../README.md', import.meta.url);
const run = promisify(execFile);

interface Step {
  /** The command as pasted. */
  command: string;
  /** The status its comment names, for a curl command. */
  status?: number;
}

/** The README's fenced blocks, with their info string. */
function fencedBlocks(text: string): { lang: string; lines: string[] }[] {
  return [...text.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map(([, lang = '', body = '']) => ({ lang, lines: body.replace(/\n$/, '').split('\n') }));
}

/** The status a comment names first (`# 201 + Location…`, `# 422: {…}`), if it begins with one. */
function statusOf(comment: string | undefined): number | undefined {
  const match = comment === undefined ? null : /^#\s*([1-5]\d\d)\b/.exec(comment.trim());
  return match ? Number(match[1]) : undefined;
}

/** A session's commands, each curl with its expected status. */
function sessionSteps(lang: string, lines: string[]): Step[] {
  const commands = lang === 'console' ? lines.filter((line) => line.startsWith('$ ')).map((line) => line.slice(2)) : lines;
  const steps: Step[] = [];
  commands.forEach((line, index) => {
    if (/^\s*(#|$)/.test(line) || /\bcurl -N\b/.test(line)) return;
    if (!/\bcurl\b/.test(line)) return void steps.push({ command: line });
    const trailing = /\s#\s.*$/.exec(line)?.[0];
    const below = trailing === undefined && /^\s+#/.test(commands[index + 1] ?? '') ? commands[index + 1] : undefined;
    steps.push({ command: line, status: statusOf(trailing ?? below) ?? 200 });
  });
  return steps;
}

/** Every session of the README, in order. */
function readmeSessions(text: string): Step[] {
  return fencedBlocks(text)
    .filter(({ lang, lines }) => (lang === 'sh' || lang === 'console') && lines.some((line) => line.includes('$BASE')))
    .filter(({ lines }) => !lines.some((line) => /^\s*while :/.test(line)))
    .flatMap(({ lang, lines }) => sessionSteps(lang, lines));
}

/**
 * curl as pasted, with the status of every transfer appended to $STATUSES: a `-w` the README gives is kept (its
 * output still goes to stdout, where the session's `$(…)` reads it), the status goes to stderr first.
 */
const CURL_RECORDING = `curl() {
  local args=() format=''
  while (($#)); do
    if [[ $1 == -w || $1 == --write-out ]]; then format=$2; shift 2; continue; fi
    args+=("$1"); shift
  done
  command curl -sS -w "%{stderr}%{http_code}\\n%{stdout}$format" "\${args[@]}" 2>>"$STATUSES"
}`;

let server: SpawnedServer;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'readme-sessions-'));
  // What `pnpm start` does on a fresh embedded database: migrate, seed the empty catalog, serve.
  server = await spawnServer({ SEED_ON_START: 'true' });
});
afterAll(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("the README's sessions, pasted in order on a fresh start", () => {
  it('answer every curl line with the status its comment names', async () => {
    const steps = readmeSessions(await readFile(readme, 'utf8'));
    const curls = steps.filter((step) => step.status !== undefined);
    // The tour, safe writes and the change feed at least: a README that lost its sessions fails here, not silently.
    expect(curls.length).toBeGreaterThan(25);
    const script = [CURL_RECORDING, ...steps.map(({ command }) => command.replaceAll('http://127.0.0.1:8000', server.base))].join('\n');
    const statuses = join(dir, 'statuses');
    // The shell's own exit status is the last command's: what counts is each curl's answer, compared below.
    const { stdout } = await run('bash', ['-c', script], { env: { ...process.env, BASE: server.base, STATUSES: statuses }, maxBuffer: 64 * 1024 * 1024 }).catch(
      (error: { stdout: string }) => error,
    );
    const got = (await readFile(statuses, 'utf8')).trim().split('\n');
    const report = (answers: string[]) => curls.map(({ command }, index) => `${answers[index] ?? '---'}  ${command.trim().slice(0, 110)}`).join('\n');
    expect(report(got), stdout.slice(-500)).toBe(report(curls.map(({ status }) => String(status))));
    expect(got).toHaveLength(curls.length);
  });
});
