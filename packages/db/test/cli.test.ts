import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { freePort } from '../src/ops/embedded.js';
import { useEmptyDatabase } from '../src/fixture.js';
import { createTestDatabase, startPasswordServer } from '../src/testing.js';

// The compiled CLI, exactly as `pnpm db:*` runs it after its build step (turbo builds the package before its tests).
const cli = new URL('../dist/ops/cli.js', import.meta.url).pathname;
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const run = promisify(execFile);

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function exec(command: string, args: string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<Result> {
  try {
    const { stdout, stderr } = await run(command, args, { env: { ...process.env, ...env }, cwd });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as Result;
    return { code, stdout, stderr };
  }
}

const db = (args: string[], databaseUrl: string, env: NodeJS.ProcessEnv = {}) =>
  exec(process.execPath, [cli, ...args], { ...env, DATABASE_URL: databaseUrl });

/**
 * A copy of this package (sources, compiled output, build script) in a temp directory, with its
 * node_modules linked: a checkout in which a test may add and delete migrations without disturbing the
 * other test files, and run `scripts/cli.sh` (what `pnpm db:*` runs: compile, then the CLI).
 */
async function packageCopy(): Promise<{ dir: string; cli: (args: string[], databaseUrl: string) => Promise<Result>; remove: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'db-checkout-'));
  const dir = join(root, 'packages', 'db');
  for (const entry of ['src', 'dist', 'scripts', 'package.json', 'tsconfig.build.json']) {
    await cp(join(packageDir, entry), join(dir, entry), { recursive: true });
  }
  await cp(join(repoRoot, 'tsconfig.base.json'), join(root, 'tsconfig.base.json'));
  await symlink(join(packageDir, 'node_modules'), join(dir, 'node_modules'));
  await symlink(join(repoRoot, 'node_modules'), join(root, 'node_modules'));
  const path = `${join(repoRoot, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`;
  return {
    dir,
    cli: (args, databaseUrl) => exec('sh', ['scripts/cli.sh', ...args], { PATH: path, DATABASE_URL: databaseUrl }, dir),
    remove: () => rm(root, { recursive: true, force: true }),
  };
}

async function tableExists(url: string, table: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [table]);
    return rows[0]?.present ?? false;
  } finally {
    await client.end();
  }
}

const database = useEmptyDatabase();

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

    expect((await db(['downgrade', 'base', '--yes'], database.url)).code).toBe(0);
    expect((await db(['current'], database.url)).stdout).toContain('base (no migration applied)');
  });

  it('seeds, and adds N synthetic products with --count', async () => {
    await db(['upgrade', 'head'], database.url);
    const seeded = await db(['seed', '--count', '250'], database.url);
    expect(seeded.code).toBe(0);
    expect(seeded.stdout).toMatch(/^seeded 4 categories and \d+ products$/m);
    expect(seeded.stdout).toContain('added 250 synthetic product(s)');
    expect((await db(['seed'], database.url)).stdout).toContain('seeded 0 categories and 0 products');
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

  it('refuses to revert every migration of DATABASE_URL without --yes: one line, nothing reverted', async () => {
    await db(['upgrade', 'head'], database.url);
    const refused = await db(['downgrade', 'base'], database.url);
    expect(refused.code).toBe(1);
    const where = new URL(database.url);
    expect(refused.stderr).toBe(
      `error: downgrade base drops every table of 127.0.0.1:${where.port || '5432'}${where.pathname} (DATABASE_URL); run it again with --yes to confirm\n`,
    );
    expect(await tableExists(database.url, 'products')).toBe(true);
    expect((await db(['current'], database.url)).stdout).not.toContain('base (no migration applied)');

    const confirmed = await db(['downgrade', 'base', '--yes'], database.url);
    expect(confirmed.code).toBe(0);
    expect(confirmed.stdout).toContain('reverted');
    expect(await tableExists(database.url, 'products')).toBe(false);
  });

  it('reads an empty DATABASE_URL as unset (the embedded server) and a malformed one as one line', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'cli-embedded-'));
    try {
      const embedded = await db(['current'], '', { EMBEDDED_PG_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()) });
      expect(embedded.stderr).toBe('');
      expect(embedded.stdout).toBe('current: base (no migration applied)\n');
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
    for (const url of ['postgres//nowhere', 'mysql://localhost/catalog', 'not a url']) {
      const result = await db(['status'], url);
      expect(result.code).toBe(1);
      expect(result.stderr).toBe('invalid configuration: DATABASE_URL: must be a postgres:// URL\n');
    }
  });

  it('says in one line, within the connect timeout, that a password-less URL meets a server that wants one', async () => {
    const server = await startPasswordServer('s3cret-Pa55word');
    try {
      const passwordless = server.url;
      const withPassword = (password: string) => {
        const url = new URL(passwordless);
        url.password = password;
        return url.toString();
      };
      // A connect timeout longer than the test may run: only the password refusal, not a timeout, can end it with this line.
      for (const command of [['status'], ['upgrade', 'head'], ['seed']]) {
        const result = await db(command, passwordless, { DB_CONNECT_TIMEOUT_MS: '60000', PGPASSWORD: '' });
        expect(result.code).toBe(1);
        expect(result.stderr).toBe(
          'error: the database server asks for a password and DATABASE_URL has none (postgres://user:password@host:port/database)\n',
        );
      }
      const wrong = await db(['status'], withPassword('wrong'), { DB_CONNECT_TIMEOUT_MS: '3000' });
      expect(wrong.stderr).toBe('error: the database refused the login: password authentication failed for user "postgres"\n');
      const right = await db(['status'], withPassword('s3cret-Pa55word'));
      expect(right.code, right.stderr).toBe(0);
      expect(right.stdout).toContain('current: base (no migration applied)');
      // docker-compose.yml's way: the URL without a password, the password in PGPASSWORD for the driver.
      const fromEnv = await db(['status'], passwordless, { PGPASSWORD: 's3cret-Pa55word' });
      expect(fromEnv.code, fromEnv.stderr).toBe(0);
    } finally {
      await server.stop();
    }
  });
});

describe('pnpm db:* in a checkout', () => {
  it('takes the migration list from the sources: a compiled migration whose source was deleted is never applied', async () => {
    const checkout = await packageCopy();
    const target = await createTestDatabase(inject('adminUrl'));
    try {
      // What `pnpm db:migration:create add-brand`, a build, then deleting the .ts leaves behind.
      const stale = '2099.01.01T00.00.00.add-brand';
      await writeFile(
        join(checkout.dir, 'dist', 'schema', 'migrations', `${stale}.js`),
        `export const up = async ({ context: { sql } }) => { await sql('CREATE TABLE stale_marker (id int)'); };\nexport const down = async () => {};\n`,
      );
      const up = await checkout.cli(['upgrade', 'head'], target.url);
      expect(up.code, up.stderr).toBe(0);
      expect(up.stdout).not.toContain(stale);
      expect(await tableExists(target.url, 'stale_marker')).toBe(false);
      const status = await checkout.cli(['status'], target.url);
      expect(status.stdout).not.toContain(stale);
      expect(status.stdout).toMatch(/\[applied\] \S+create-products/);
    } finally {
      await target.drop();
      await checkout.remove();
    }
  });

  it("shows the compiler's file(line,col) for a migration that does not type-check, and applies nothing", async () => {
    const checkout = await packageCopy();
    const target = await createTestDatabase(inject('adminUrl'));
    try {
      const broken = '2099.01.01T00.00.01.broken';
      await writeFile(
        join(checkout.dir, 'src', 'schema', 'migrations', `${broken}.ts`),
        `import type { Migration } from '../migrator.js';\n\nexport const up: Migration = async ({ context: { sql } }) => {\n  const count: number = 'three';\n  await sql(String(count));\n};\n\nexport const down: Migration = async () => {};\n`,
      );
      const result = await checkout.cli(['upgrade', 'head'], target.url);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(
        `src/schema/migrations/${broken}.ts(4,9): error TS2322: Type 'string' is not assignable to type 'number'.\n`,
      );
      expect(await tableExists(target.url, 'schema_migrations')).toBe(false);
      // A failed build leaves no stamp of success: the next run compiles again and stops again, and does not
      // start from the stale output.
      const again = await checkout.cli(['upgrade', 'head'], target.url);
      expect(again.code).toBe(2);
      expect(again.stderr).toBe(result.stderr);
      expect(await tableExists(target.url, 'schema_migrations')).toBe(false);
    } finally {
      await target.drop();
      await checkout.remove();
    }
  });

  it('fails as one line on stderr, without pnpm error noise', async () => {
    const result = await exec('pnpm', ['db:migrate:status'], { DATABASE_URL: 'postgres//nowhere' }, repoRoot);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('invalid configuration: DATABASE_URL: must be a postgres:// URL\n');
    expect(`${result.stdout}${result.stderr}`).not.toContain('ERR_PNPM');
  });
});
