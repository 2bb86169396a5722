import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useMigratedDatabase } from '../src/fixture.js';
import { seed } from '../src/ops/seed.js';

// The compiled CLI, as `pnpm db:import FILE` runs it (turbo builds the package before its tests).
const cli = new URL('../dist/ops/cli.js', import.meta.url).pathname;
const run = promisify(execFile);
const db = useMigratedDatabase();
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tradeos-import-'));
  await seed(db);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Runs `db:import` on a file written from `text`, from the file's directory (as INIT_CWD), by its relative name. */
async function importFile(name: string, text: string, options: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  await writeFile(join(dir, name), text);
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, 'import', ...options, name], { env: { ...process.env, DATABASE_URL: db.url, INIT_CWD: dir } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    return error as { code: number; stdout: string; stderr: string };
  }
}

const bySku = async (prefix: string) =>
  db.query<{ sku: string; name: string; price: string; quantity: number; description: string | null; category_id: number | null }>(
    'SELECT sku, name, price, quantity, description, category_id FROM products WHERE sku LIKE $1 ORDER BY sku',
    [`${prefix}%`],
  );

describe('pnpm db:import FILE', () => {
  it('upserts a CSV with quoted fields and line breaks by sku, with a progress bar and a summary', async () => {
    const csv = 'sku,name,price,quantity,category,description\nCSV-1,"Стол, дубовый",10.5,3,мебель,"две\nстроки"\nCSV-2,Стул,7,,,\n';
    const first = await importFile('first.csv', csv);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/imported 2 row\(s\) in [\d.]+ s: 2 created, 0 updated, 0 unchanged/);
    expect(first.stderr).toContain('2/2');
    const again = await importFile('again.csv', 'sku,name,price\nCSV-1,"Стол, дубовый",12\nCSV-2,Стул,7\n');
    expect(again.stdout).toContain('0 created, 1 updated, 1 unchanged');
    const [table, chair] = await bySku('CSV-');
    expect(table).toMatchObject({ name: 'Стол, дубовый', price: '12.00', quantity: 3, description: 'две\nстроки' });
    expect(table!.category_id).not.toBeNull();
    expect(chair).toMatchObject({ price: '7.00', quantity: 0, description: null, category_id: null });
  });

  it('imports JSON in batches of 1000; a bad row anywhere is reported with its line and nothing is written', async () => {
    const items = Array.from({ length: 1500 }, (_, index) => ({ sku: `JS-${String(index).padStart(4, '0')}`, name: `Импорт ${index}`, price: 1 }));
    items[1200]!.price = 1.234;
    // One object per line after the opening bracket: item i starts on line i + 2.
    const json = `[\n${items.map((item) => JSON.stringify(item)).join(',\n')}\n]\n`;
    const result = await importFile('batch.json', json);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('error: line 1202: price: must have at most 2 fractional digits\nerror: 1 problem in batch.json; nothing was written\n');
    expect(await bySku('JS-')).toEqual([]);
    items[1200]!.price = 1.23;
    const fixed = await importFile('batch.json', `[\n${items.map((item) => JSON.stringify(item)).join(',\n')}\n]\n`);
    expect(fixed.stdout).toContain('imported 1500 row(s)');
    expect(fixed.stderr).toContain('1000/1500');
    expect(await bySku('JS-')).toHaveLength(1500);
  });

  it('names the line of an unknown category and of a CSV row with the wrong number of fields', async () => {
    const unknown = await importFile('unknown.csv', 'sku,name,price,category\nU-1,a,1,Книги\nU-2,b,1,Нет такой\n');
    expect(unknown.stderr).toContain('error: line 3: category: no category named "Нет такой" exists');
    const ragged = await importFile('ragged.csv', 'sku,name,price\nR-1,a,1\nR-2,b\n');
    expect(ragged.stderr).toContain('error: line 3: has 2 fields; the header names 3');
    expect(await bySku('U-')).toEqual([]);
    expect(await bySku('R-')).toEqual([]);
  });

  it('reports a bad header at line 1: an unknown column, a missing required one, a repeated one', async () => {
    const colour = await importFile('colour.csv', 'sku,name,price,colour\nH-1,a,1,red\n');
    expect(colour.code).toBe(1);
    expect(colour.stderr).toBe(
      'error: line 1: colour: unknown column (the columns are sku, name, price, description, quantity, category_id, category)\n' +
        'error: 1 problem in colour.csv; nothing was written\n',
    );
    const missing = await importFile('missing.csv', 'sku,name,name\nH-1,a,b\n');
    expect(missing.stderr).toContain('error: line 1: name: appears twice in the header\n');
    expect(missing.stderr).toContain('error: line 1: price: missing column: every row needs it\n');
    expect(await bySku('H-')).toEqual([]);
  });

  it('--dry-run checks a 5 000-row file whole: every bad line with its field, repeated skus with both lines, nothing written', async () => {
    const rows = Array.from({ length: 5000 }, (_, index) => ({ sku: `D-${String(index).padStart(4, '0')}`, price: '10.5', category: index % 2 ? 'книги' : '' }));
    rows[2500]!.price = '1.234';
    rows[3000]!.category = 'Нет такой';
    rows[4000]!.sku = 'D-0017';
    // The header is line 1: row i is on line i + 2.
    const csv = `sku,name,price,category\n${rows.map(({ sku, price, category }, index) => `${sku},Товар ${index},${price},${category}`).join('\n')}\n`;
    const dry = await importFile('five-thousand.csv', csv, ['--dry-run']);
    expect(dry.code).toBe(1);
    expect(dry.stderr).toBe(
      [
        'error: line 2502: price: must have at most 2 fractional digits',
        'error: line 3002: category: no category named "Нет такой" exists',
        'error: line 4002: sku: repeats the sku of line 19 ("D-0017")',
        'error: 3 problems in five-thousand.csv; nothing was written',
        '',
      ].join('\n'),
    );
    // The real import makes the same check before its first write.
    const real = await importFile('five-thousand.csv', csv);
    expect(real.code).toBe(1);
    expect(real.stderr).toBe(dry.stderr);
    expect(await bySku('D-')).toEqual([]);

    rows[2500]!.price = '1.23';
    rows[3000]!.category = 'Мебель';
    rows[4000]!.sku = 'D-4000';
    const fine = rows.map(({ sku, price, category }, index) => `${sku},Товар ${index},${price},${category}`).join('\n');
    const checked = await importFile('fine.csv', `sku,name,price,category\n${fine}\nCSV-1,"Стол, дубовый",12,\n`, ['--dry-run']);
    expect(checked.code, checked.stderr).toBe(0);
    expect(checked.stdout).toBe('checked 5001 rows: no problem found; 5000 would be created, 1 updated or left as they are (dry run: nothing was written)\n');
    expect(await bySku('D-')).toEqual([]);
  });

  it('shows the first 20 problems and counts the rest', async () => {
    const csv = `sku,name,price\n${Array.from({ length: 25 }, (_, index) => `L-${index},a,-1`).join('\n')}\n`;
    const result = await importFile('many.csv', csv, ['--dry-run']);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(22);
    expect(lines[0]).toMatch(/^error: line 2: price: /);
    expect(lines[20]).toBe('… and 5 more problem(s)');
    expect(lines[21]).toBe('error: 25 problems in many.csv; nothing was written');
  });

  it('stopped by the database half-way, says what is written; running the same file again finishes it', async () => {
    await db.query(`CREATE FUNCTION refuse_m1500() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.sku = 'M-1500' THEN RAISE EXCEPTION 'refused by a test trigger'; END IF; RETURN NEW; END $$`);
    await db.query('CREATE TRIGGER refuse_m1500 BEFORE INSERT ON products FOR EACH ROW EXECUTE FUNCTION refuse_m1500()');
    const csv = `sku,name,price\n${Array.from({ length: 2500 }, (_, index) => `M-${String(index).padStart(4, '0')},m,1`).join('\n')}\n`;
    try {
      const stopped = await importFile('stopped.csv', csv);
      expect(stopped.code).toBe(1);
      expect(stopped.stderr).toContain(
        'error: line 1002: its batch of 1000 failed: P0001 refused by a test trigger; the 1000 rows before its batch are written, nothing of its batch is. ' +
          'Fix it and run the same import again: the rows already written come back unchanged\n',
      );
      expect(await bySku('M-')).toHaveLength(1000);
    } finally {
      await db.query('DROP TRIGGER refuse_m1500 ON products');
    }
    const again = await importFile('stopped.csv', csv);
    expect(again.stdout).toContain('1500 created, 0 updated, 1000 unchanged');
    expect(await bySku('M-')).toHaveLength(2500);
  });
});
