import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createDatabase, freePort } from '@tradeos/db';
import { useEmptyDatabase } from '@tradeos/db/fixture';
import { describe, expect, it } from 'vitest';

// The compiled entry point, as `pnpm start` runs it (turbo builds the package before its tests).
const main = new URL('../dist/main.js', import.meta.url).pathname;
// Whatever a developer's .env says, these servers run with writes open, no rate limit and one process.
const QUIET = { API_KEYS: '', RATE_LIMIT_MAX: '0', WORKERS: '1', SEED_ON_START: 'false' };
const database = useEmptyDatabase();

/** Until the server answers /health (or exits): a start-up on a busy machine takes longer, it does not fail. */
async function ready(base: string, child: ChildProcess): Promise<void> {
  while (child.exitCode === null && !(await fetch(`${base}/health`).then((r) => r.ok, () => false))) await new Promise((resolve) => setTimeout(resolve, 100));
}

describe('SIGTERM under load', () => {
  it('finishes in-flight requests, loses no acknowledged write, exits 0 within 10 s', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [main], {
      env: { ...process.env, ...QUIET, DATABASE_URL: database.url, MIGRATE_ON_START: 'true', PORT: String(port), LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    const base = `http://127.0.0.1:${port}`;
    await ready(base, child);

    const acknowledged: number[] = [];
    const outcomes = { created: 0, unavailable: 0, refused: 0 };
    let stop = false;
    const worker = async (n: number) => {
      for (let i = 0; !stop; i += 1) {
        try {
          const response = await fetch(`${base}/products`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ name: `Нагрузка ${n}-${i}`, price: 1 }),
          });
          if (response.status === 201) {
            acknowledged.push(((await response.json()) as { id: number }).id);
            outcomes.created += 1;
          } else {
            expect(response.status).toBe(503);
            outcomes.unavailable += 1;
            await response.body?.cancel();
          }
        } catch {
          outcomes.refused += 1;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    };
    const workers = Array.from({ length: 16 }, (_, n) => worker(n));
    // Signalled once the load is real, counted in acknowledged writes rather than in time a slow machine fills with less
    // (a worker that fails ends the wait).
    const loaded = async () => {
      while (outcomes.created < 20) await new Promise((resolve) => setTimeout(resolve, 10));
    };
    await Promise.race([loaded(), Promise.all(workers)]);
    const signalled = Date.now();
    child.kill('SIGTERM');
    const [code] = await exited;
    const took = Date.now() - signalled;
    await new Promise((resolve) => setTimeout(resolve, 200));
    stop = true;
    await Promise.all(workers);

    expect(code, output).toBe(0);
    expect(took).toBeLessThan(10_000);
    expect(outcomes.refused).toBeGreaterThan(0);
    await expect(fetch(`${base}/health`)).rejects.toThrow();

    const db = createDatabase({ url: database.url });
    try {
      const [rows] = await db.sequelize.query('SELECT id FROM products WHERE id = ANY($1::int[])', { bind: [acknowledged] });
      expect(rows).toHaveLength(acknowledged.length);
    } finally {
      await db.close();
    }
  });
});

describe('WORKERS=2', () => {
  it('serves from two processes on one port and stops them all on SIGTERM', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [main], {
      env: { ...process.env, ...QUIET, DATABASE_URL: database.url, MIGRATE_ON_START: 'true', PORT: String(port), LOG_LEVEL: 'warn', WORKERS: '2' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = once(child, 'exit') as Promise<[number | null]>;
    const base = `http://127.0.0.1:${port}`;
    await ready(base, child);
    expect(output).toContain('2 workers serving');
    const statuses = await Promise.all(Array.from({ length: 20 }, () => fetch(`${base}/categories`).then((r) => r.status)));
    expect(statuses.every((status) => status === 200)).toBe(true);

    const signalled = Date.now();
    child.kill('SIGTERM');
    const [code] = await exited;
    expect(code, output).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(10_000);
    await expect(fetch(`${base}/health`)).rejects.toThrow();
  });
});
