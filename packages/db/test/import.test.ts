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
async function importFile(name: string, text: string): Promise<{ code: number; stdout: string; stderr: string }> {
  await writeFile(join(dir, name), text);
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, 'import', name], { env: { ...process.env, DATABASE_URL: db.url, INIT_CWD: dir } });
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

  it('imports JSON in batches of 1000 and stops at a bad row with its line, keeping earlier batches and nothing of its own', async () => {
    const items = Array.from({ length: 1500 }, (_, index) => ({ sku: `JS-${String(index).padStart(4, '0')}`, name: `Импорт ${index}`, price: 1 }));
    items[1200]!.price = 1.234;
    // One object per line after the opening bracket: item i starts on line i + 2.
    const json = `[\n${items.map((item) => JSON.stringify(item)).join(',\n')}\n]\n`;
    const result = await importFile('batch.json', json);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('error: line 1202: price: must have at most 2 fractional digits; nothing of its batch was written');
    expect(await bySku('JS-')).toHaveLength(1000);
  });

  it('names the line of an unknown category and of a CSV row with the wrong number of fields', async () => {
    const unknown = await importFile('unknown.csv', 'sku,name,price,category\nU-1,a,1,Книги\nU-2,b,1,Нет такой\n');
    expect(unknown.stderr).toContain('error: line 3: category: no category named "Нет такой" exists');
    const ragged = await importFile('ragged.csv', 'sku,name,price\nR-1,a,1\nR-2,b\n');
    expect(ragged.stderr).toContain('error: line 3: has 2 fields; the header names 3');
    expect(await bySku('U-')).toEqual([]);
  });
});
