/**
 * The migration and seed command line, mirroring Alembic: upgrade head, downgrade -1 | base, current,
 * history, revision -m NAME, plus seed [--count N]. Uses DATABASE_URL, else the embedded server.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { createDatabase, type Database } from './connection.js';
import { DEFAULT_EMBEDDED_PORT, defaultDataDir, startEmbeddedPostgres } from './embedded.js';
import { isConnectionError } from './errors.js';
import { createMigrator, migrationTemplate, migrationsDir } from './migrator.js';
import { seed, seedSynthetic } from './seed.js';

const USAGE = `usage: cli <command>
  upgrade head            apply every pending migration
  downgrade -1 | -N       revert the last N migrations
  downgrade base          revert every migration
  current                 show the migrations applied
  history | status        show applied and pending migrations
  revision -m NAME        create an empty migration from the template [--dir DIR]
  seed [--count N]        seed the catalog (idempotent); --count adds N synthetic products`;

class UsageError extends Error {}

const rootEnv = fileURLToPath(new URL('../../../.env', import.meta.url));
if (existsSync(rootEnv)) process.loadEnvFile(rootEnv);

const env = z
  .object({
    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
    EMBEDDED_PG_DIR: z.string().min(1).default(defaultDataDir),
    EMBEDDED_PG_PORT: z.coerce.number().int().min(1).max(65_535).default(DEFAULT_EMBEDDED_PORT),
  })
  .parse(process.env);

async function withDatabase(fn: (db: Database) => Promise<void>): Promise<void> {
  const embedded = env.DATABASE_URL
    ? undefined
    : await startEmbeddedPostgres({ dataDir: env.EMBEDDED_PG_DIR, port: env.EMBEDDED_PG_PORT, database: 'catalog' });
  const db = createDatabase({ url: env.DATABASE_URL ?? embedded!.url, connectTimeoutMs: 5_000 });
  try {
    await fn(db);
  } finally {
    await db.close();
    await embedded?.stop();
  }
}

function progressBar(done: number, total: number): void {
  const width = 30;
  const filled = Math.round((done / total) * width);
  process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`);
  if (done === total) process.stderr.write('\n');
}

async function main(argv: string[]): Promise<void> {
  // `downgrade -1` is Alembic's spelling: a negative step is a positional, not an option.
  const step = argv.find((arg) => /^-\d+$/.test(arg));
  const { positionals, values } = parseArgs({
    args: argv.filter((arg) => arg !== step),
    allowPositionals: true,
    options: { message: { type: 'string', short: 'm' }, count: { type: 'string' }, dir: { type: 'string' } },
  });
  const [command, target = step] = positionals;
  const log = (line: string) => console.log(line);

  switch (command) {
    case 'upgrade': {
      if (target !== 'head') throw new UsageError('upgrade takes "head"');
      return withDatabase(async (db) => {
        const applied = await createMigrator(db, log).up();
        log(applied.length ? `applied ${applied.length} migration(s)` : 'already at head');
      });
    }
    case 'downgrade': {
      const step = target === 'base' ? undefined : /^-\d+$/.test(target ?? '') ? -Number(target) : NaN;
      if (Number.isNaN(step) || step === 0) throw new UsageError('downgrade takes "-N" or "base"');
      return withDatabase(async (db) => {
        const reverted = await createMigrator(db, log).down(step === undefined ? { to: 0 } : { step });
        log(reverted.length ? `reverted ${reverted.length} migration(s)` : 'nothing to revert');
      });
    }
    case 'current':
    case 'history':
    case 'status':
      return withDatabase(async (db) => {
        const { executed, pending } = await createMigrator(db).status();
        log(`current: ${executed.at(-1) ?? 'base (no migration applied)'}`);
        if (command === 'current') return;
        for (const name of executed) log(`  [applied] ${name}`);
        for (const name of pending) log(`  [pending] ${name}`);
      });
    case 'revision': {
      const slug = (values.message ?? '').trim().toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
      if (!slug) throw new UsageError('revision needs -m NAME');
      const stamp = new Date().toISOString().slice(0, 19).replace(/-/g, '.').replace(/:/g, '.');
      // New migrations are written as TypeScript sources, beside the ones under src/ (or into --dir).
      const dir = values.dir ?? migrationsDir.replace(/[\\/]dist[\\/]/, '/src/');
      const file = join(dir, `${stamp}.${slug}.ts`);
      await writeFile(file, migrationTemplate, { flag: 'wx' });
      log(`created ${file}`);
      return;
    }
    case 'seed': {
      const count = values.count === undefined ? 0 : Number(values.count);
      if (!Number.isSafeInteger(count) || count < 0) throw new UsageError('--count takes a whole number ≥ 0');
      return withDatabase(async (db) => {
        const { categoriesInserted, productsInserted } = await seed(db);
        log(`seeded ${categoriesInserted} categorie(s) and ${productsInserted} product(s)`);
        if (count > 0) {
          const started = Date.now();
          const added = await seedSynthetic(db, count, { onProgress: progressBar });
          log(`added ${added} synthetic product(s) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        }
      });
    }
    default:
      throw new UsageError(command ? `unknown command "${command}"` : 'no command given');
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError) {
    console.error(`error: ${error.message}\n${USAGE}`);
  } else if (isConnectionError(error)) {
    console.error(`error: cannot reach the database (${describe(error)}); is PostgreSQL running and DATABASE_URL right?`);
  } else {
    console.error(`error: ${describe(error)}`);
  }
  process.exitCode = 1;
});

function describe(error: unknown): string {
  const { message, code } = error as { message?: string; code?: string };
  return [code, message].filter(Boolean).join(' ') || String(error);
}
