/**
 * The whole-file check of `pnpm db:import`, run before its first write and alone by `--dry-run`: the file's shape
 * (header, records, JSON), every row against the contract's bulk item, skus repeated anywhere in the file (with both
 * lines), categories that do not exist. Nothing here writes.
 */
import { ProductBulkItem } from '@tradeos/contract';
import { QueryTypes } from 'sequelize';
import type { Database } from '../connection/database.js';
import type { ParsedFile, Problem, SourceRow } from './import.js';

/** Every row's own problems (its fields against the contract's bulk item), and skus that repeat an earlier line's. */
function rowProblems(rows: SourceRow[]): Problem[] {
  const problems: Problem[] = [];
  const firstLine = new Map<unknown, number>();
  for (const { line, fields } of rows) {
    const parsed = ProductBulkItem.safeParse(fields);
    for (const issue of parsed.error?.issues ?? []) {
      const field = issue.path.map(String).join('.');
      problems.push({ line, ...(field ? { field } : {}), message: issue.message });
    }
    if (typeof fields.sku !== 'string') continue;
    const first = firstLine.get(fields.sku);
    if (first === undefined) firstLine.set(fields.sku, line);
    else problems.push({ line, field: 'sku', message: `repeats the sku of line ${first} ("${fields.sku}")` });
  }
  return problems;
}

/** Rows whose `category` (a name, any letter case, as PostgreSQL's lower() means it) or `category_id` names no category. */
async function categoryProblems(db: Database, rows: SourceRow[]): Promise<Problem[]> {
  const names = [...new Set(rows.flatMap(({ fields }) => (typeof fields.category === 'string' ? [fields.category] : [])))];
  const ids = [...new Set(rows.flatMap(({ fields }) => (Number.isSafeInteger(fields.category_id) ? [fields.category_id as number] : [])))];
  if (!names.length && !ids.length) return [];
  const missing = await db.sequelize.query<{ name: string | null; id: number | null }>(
    `SELECT n.asked AS name, NULL::int AS id FROM unnest($1::text[]) AS n(asked)
       WHERE NOT EXISTS (SELECT 1 FROM categories c WHERE lower(c.name) = lower(n.asked))
     UNION ALL SELECT NULL, i.asked FROM unnest($2::int[]) AS i(asked) WHERE NOT EXISTS (SELECT 1 FROM categories c WHERE c.id = i.asked)`,
    { bind: [names, ids], type: QueryTypes.SELECT },
  );
  const unknownNames = new Set(missing.flatMap(({ name }) => (name === null ? [] : [name])));
  const unknownIds = new Set(missing.flatMap(({ id }) => (id === null ? [] : [id])));
  return rows.flatMap(({ line, fields }): Problem[] => {
    if (unknownNames.has(fields.category as string)) return [{ line, field: 'category', message: `no category named "${String(fields.category)}" exists` }];
    if (unknownIds.has(fields.category_id as number)) return [{ line, field: 'category_id', message: `no category with id ${String(fields.category_id)} exists` }];
    return [];
  });
}

/**
 * Everything wrong with a file, in line order. A file whose shape is wrong at line 1 (a header, not JSON) is
 * reported alone: every row would repeat it.
 */
export async function checkImport(db: Database, file: ParsedFile): Promise<Problem[]> {
  if (file.problems.some(({ line }) => line === 1)) return file.problems;
  const problems = [...file.problems, ...rowProblems(file.rows), ...(await categoryProblems(db, file.rows))];
  return problems.sort((a, b) => a.line - b.line);
}

/** How many of the rows' skus are new to the catalog (the rest would be updated, or left as they are). */
export async function countNewSkus(db: Database, rows: SourceRow[]): Promise<number> {
  const skus = rows.map(({ fields }) => String(fields.sku));
  const [row] = await db.sequelize.query<{ known: string }>('SELECT count(*) AS known FROM products WHERE sku = ANY($1::text[])', {
    bind: [skus],
    type: QueryTypes.SELECT,
  });
  return skus.length - Number(row?.known ?? 0);
}

/** A file's problems, as the CLI prints them: one line each, up to `limit`, then how many more. */
export function describeProblems(problems: Problem[], limit = 20): string[] {
  const lines = problems.slice(0, limit).map(({ line, field, message }) => `error: line ${line}: ${field ? `${field}: ` : ''}${message}`);
  if (problems.length > limit) lines.push(`… and ${problems.length - limit} more problem(s)`);
  return lines;
}
