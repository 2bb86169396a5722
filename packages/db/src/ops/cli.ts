/**
 * `ops/`: what an operator runs: this command line, the import (`import.ts`), the seed and its data (`seed.ts`,
 * `seed-data.ts`) and the embedded PostgreSQL (`embedded.ts`). May import every other folder.
 *
 * The migration and seed command line, mirroring Alembic: upgrade head, downgrade -1 | base, current,
 * history, revision -m NAME, plus seed [--count N]. Uses DATABASE_URL, else the embedded server.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { ConfigError, databaseOptions, loadDatabaseConfig, openDatabaseServer, type DatabaseConfig } from '../config.js';
import { createDatabase, type Database } from '../connection/database.js';
import { describeDatabaseError } from '../errors.js';
import { createMigrator, migrationSourcesDir, migrationTemplate } from '../schema/migrator.js';
import type { ImportError } from './import.js';
import { seed, seedSynthetic } from './seed.js';

const USAGE = `usage: cli <command>
  upgrade head            apply every pending migration
  downgrade -1 | -N       revert the last N migrations
  downgrade base [--yes]  revert every migration; on DATABASE_URL only with --yes (or confirmed at a terminal)
  current                 show the migrations applied
  history | status        show applied and pending migrations
  revision -m NAME        create an empty migration from the template [--dir DIR]
  seed [--count N]        seed the catalog (idempotent); --count adds N synthetic products
  import FILE             upsert products by sku from a CSV (header row) or JSON file, 1000 per transaction,
                          after checking the whole file (a file with a bad line writes nothing)
  import --dry-run FILE   only check the file: every bad line with its number and field, nothing written`;

class UsageError extends Error {}
/** A refusal that is not a usage mistake: one line, no usage text. */
class Refusal extends Error {}
/** Lines already printed on stderr: the exit code is all that is left to give. */
class Reported extends Error {}

const rootEnv = fileURLToPath(new URL('../../../../.env', import.meta.url));
if (existsSync(rootEnv)) process.loadEnvFile(rootEnv);

async function withDatabase(config: DatabaseConfig, fn: (db: Database) => Promise<void>): Promise<void> {
  const server = await openDatabaseServer(config);
  const db = createDatabase(databaseOptions(config, server.url));
  try {
    await fn(db);
  } finally {
    await db.close();
    await server.embedded?.stop();
  }
}

/** `host:port/database` of a URL, without its credentials: what an operator confirms against. */
function target(url: string): string {
  const { hostname, port, pathname } = new URL(url);
  return `${hostname}:${port || '5432'}${decodeURIComponent(pathname)}`;
}

/** An external database loses every table on `downgrade base`: only with --yes, or a "yes" typed at a terminal. */
async function confirmReset(config: DatabaseConfig, yes: boolean): Promise<void> {
  if (!config.url || yes) return;
  const where = target(config.url);
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    throw new Refusal(`downgrade base drops every table of ${where} (DATABASE_URL); run it again with --yes to confirm`);
  }
  const prompt = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await prompt.question(`Revert every migration on ${where}? Every catalog table and row is lost. Type "yes": `);
    if (answer.trim() !== 'yes') throw new Refusal('nothing reverted');
  } finally {
    prompt.close();
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
    options: {
      message: { type: 'string', short: 'm' },
      count: { type: 'string' },
      dir: { type: 'string' },
      yes: { type: 'boolean', short: 'y', default: false },
      'dry-run': { type: 'boolean', default: false },
    },
  });
  const [command, argument = step] = positionals;
  const log = (line: string) => console.log(line);
  const config = loadDatabaseConfig(process.env);

  switch (command) {
    case 'upgrade': {
      if (argument !== 'head') throw new UsageError('upgrade takes "head"');
      return withDatabase(config, async (db) => {
        const applied = await createMigrator(db, log).up();
        log(applied.length ? `applied ${applied.length} migration(s)` : 'already at head');
      });
    }
    case 'downgrade': {
      const step = argument === 'base' ? undefined : /^-\d+$/.test(argument ?? '') ? -Number(argument) : NaN;
      if (Number.isNaN(step) || step === 0) throw new UsageError('downgrade takes "-N" or "base"');
      if (step === undefined) await confirmReset(config, values.yes);
      return withDatabase(config, async (db) => {
        const reverted = await createMigrator(db, log).down(step === undefined ? { to: 0 } : { step });
        log(reverted.length ? `reverted ${reverted.length} migration(s)` : 'nothing to revert');
      });
    }
    case 'current':
    case 'history':
    case 'status':
      return withDatabase(config, async (db) => {
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
      const dir = values.dir ?? migrationSourcesDir;
      const file = join(dir, `${stamp}.${slug}.ts`);
      await writeFile(file, migrationTemplate, { flag: 'wx' });
      log(`created ${file}`);
      return;
    }
    case 'seed': {
      const count = values.count === undefined ? 0 : Number(values.count);
      if (!Number.isSafeInteger(count) || count < 0) throw new UsageError('--count takes a whole number ≥ 0');
      return withDatabase(config, async (db) => {
        const { categoriesInserted, productsInserted } = await seed(db);
        log(`seeded ${plural(categoriesInserted, 'category', 'categories')} and ${plural(productsInserted, 'product', 'products')}`);
        if (count > 0) {
          const started = Date.now();
          const added = await seedSynthetic(db, count, { onProgress: progressBar });
          log(`added ${added} synthetic product(s) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        }
      });
    }
    case 'import':
      if (!argument) throw new UsageError('import needs a FILE (.csv with a header row, or .json)');
      return importCommand(config, argument, values['dry-run'], log);
    default:
      throw new UsageError(command ? `unknown command "${command}"` : 'no command given');
  }
}

/**
 * `import [--dry-run] FILE`: the whole file is checked first; any problem is printed (every bad line, up to 20) and
 * nothing is written. `--dry-run` stops after the check and says what the import would do.
 */
async function importCommand(config: DatabaseConfig, argument: string, dryRun: boolean, log: (line: string) => void): Promise<void> {
  // `pnpm db:import FILE` runs from the package directory: the file is named from where the user ran it.
  const file = resolve(process.env.INIT_CWD ?? process.cwd(), argument);
  // Loaded only here: the contract's schemas would slow down every other command's start.
  const [{ importProducts, readImportFile }, { checkImport, countNewSkus, describeProblems }] = await Promise.all([
    import('./import.js'),
    import('./import-check.js'),
  ]);
  const parsed = await readImportFile(file);
  const rows = parsed.rows.length;
  return withDatabase(config, async (db) => {
    const problems = await checkImport(db, parsed);
    if (problems.length) {
      for (const line of describeProblems(problems)) console.error(line);
      throw new Reported(`${plural(problems.length, 'problem', 'problems')} in ${argument}; nothing was written`);
    }
    if (dryRun) {
      const created = await countNewSkus(db, parsed.rows);
      log(`checked ${plural(rows, 'row', 'rows')}: no problem found; ${created} would be created, ${rows - created} updated or left as they are (dry run: nothing was written)`);
      return;
    }
    const started = Date.now();
    const { created, updated, unchanged } = await importProducts(db, parsed.rows, progressBar);
    log(`imported ${rows} row(s) in ${((Date.now() - started) / 1000).toFixed(1)} s: ${created} created, ${updated} updated, ${unchanged} unchanged`);
  });
}

/** A row the database refused half-way: what is written, and how to finish (the upsert is idempotent). */
function importStopped(error: ImportError): string {
  return (
    `\nerror: ${error.message}; the ${plural(error.written, 'row', 'rows')} before its batch are written, nothing of its batch is. ` +
    'Fix it and run the same import again: the rows already written come back unchanged'
  );
}

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: unknown) => {
    if (error instanceof UsageError) console.error(`error: ${error.message}\n${USAGE}`);
    // The same line the server prints for the same variable.
    else if (error instanceof ConfigError) console.error(error.message);
    else if (error instanceof Refusal || error instanceof Reported) console.error(`error: ${error.message}`);
    // After a progress bar's line: the rows before this one's batch are written, nothing of its batch is.
    else if (error instanceof Error && error.name === 'ImportError') console.error(importStopped(error as ImportError));
    else console.error(`error: ${describeDatabaseError(error)}`);
    // Exit now: a refused login would otherwise keep its socket, and this process, alive for a minute.
    process.exit(1);
  },
);
