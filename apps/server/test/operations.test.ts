import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { createDatabase, createMigrator, freePort } from '@tradeos/db';
import { useEmptyDatabase } from '@tradeos/db/fixture';
import { startPasswordServer } from '@tradeos/db/testing';
import { describe, expect, it } from 'vitest';

// The compiled entry points, as `pnpm start` and `pnpm db:*` run them.
const main = new URL('../dist/main.js', import.meta.url).pathname;
const cli = new URL('../../../packages/db/dist/ops/cli.js', import.meta.url).pathname;
// Whatever a developer's .env says, these servers run with writes open, no rate limit and one process.
const QUIET = { API_KEYS: '', RATE_LIMIT_MAX: '0', WORKERS: '1', SEED_ON_START: 'false', MIGRATE_ON_START: 'false' };

/** Runs a process to its end: exit code and output. */
async function runToEnd(file: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [file], { env: { ...process.env, ...QUIET, ...env }, timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
    return { code, stdout, stderr };
  }
}

const database = useEmptyDatabase();

describe('configuration shared with the migration CLI', () => {
  it('stops on a malformed DATABASE_URL with the very line the CLI prints', async () => {
    const env = { DATABASE_URL: 'postgres//nowhere', PORT: String(await freePort()) };
    const server = await runToEnd(main, env);
    const migrations = await runToEnd(cli, env);
    expect(server.code).toBe(1);
    expect(server.stderr).toBe('invalid configuration: DATABASE_URL: must be a postgres:// URL\n');
    expect(migrations.stderr).toBe(server.stderr);
  });

  it('stops within the connect timeout, in one line, when the server wants a password the URL lacks', async () => {
    const postgres = await startPasswordServer('an0ther-Secret');
    try {
      // A connect timeout past runToEnd's 30 s kill: only the password refusal, not a timeout, can end it with this line.
      const server = await runToEnd(main, { DATABASE_URL: postgres.url, PORT: String(await freePort()), DB_CONNECT_TIMEOUT_MS: '60000' });
      expect(server.code).toBe(1);
      expect(server.stderr).toBe(
        'failed to start: the database server asks for a password and DATABASE_URL has none (postgres://user:password@host:port/database)\n',
      );
    } finally {
      await postgres.stop();
    }
  });
});

describe('an external database behind the migrations', () => {
  it('is announced at start and in /health until migrated; SIGTERM then exits 0', async () => {
    const db = createDatabase({ url: database.url });
    const migrator = createMigrator(db);
    await migrator.up();
    const [newest] = await migrator.down({ step: 1 });

    const port = await freePort();
    const child = spawn(process.execPath, [main], {
      env: { ...process.env, ...QUIET, DATABASE_URL: database.url, PORT: String(port), LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = once(child, 'exit') as Promise<[number | null]>;
    const health = async () => {
      const response = await fetch(`http://127.0.0.1:${port}/health`);
      return { status: response.status, body: await response.json() };
    };
    try {
      let first: Awaited<ReturnType<typeof health>> | undefined;
      // Until it answers (or exits): a start-up on a busy machine takes longer, it does not fail.
      while (!first && child.exitCode === null) {
        first = await health().catch(() => undefined);
        if (!first) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(output).toContain(`warning: 1 pending migration(s): ${newest!}; run \`pnpm db:migrate\``);
      expect(first).toEqual({ status: 200, body: { status: 'ok', database: 'connected', migrations: 'pending' } });

      await migrator.up();
      expect(await health()).toEqual({ status: 200, body: { status: 'ok', database: 'connected' } });
    } finally {
      child.kill('SIGTERM');
      const [code] = await exited;
      await db.close();
      expect(code, output).toBe(0);
    }
  });
});
