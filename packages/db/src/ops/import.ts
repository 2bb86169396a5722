/**
 * `pnpm db:import FILE`: products from a CSV file (with a header row) or a JSON array, upserted by sku through the
 * bulk upsert the API uses, in batches of 1000. The whole file is checked first (`import-check.ts`): a file with a
 * bad line writes nothing. What can still stop an import half-way is the database (it went away, a category was
 * deleted meanwhile): the batches before it stay written, nothing of its own batch is, and running the same file
 * again finishes it (the upsert is idempotent: rows already written come back `unchanged`).
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { MAX_BULK_ITEMS, ProductBulk, ProductBulkItem } from '@tradeos/contract';
import type { Database } from '../connection/database.js';
import { DataError, describeDatabaseError } from '../errors.js';
import { upsertProducts } from '../store/upsert.js';

/** One record of the file and the line it starts on. */
export interface SourceRow {
  line: number;
  fields: Record<string, unknown>;
}

/** What is wrong with one line of the file: the line, the field if one is to blame, and what. */
export interface Problem {
  line: number;
  field?: string;
  message: string;
}

/** A file read: its rows, and what is wrong with its shape (a header, a record, the JSON) found on the way. */
export interface ParsedFile {
  rows: SourceRow[];
  problems: Problem[];
}

export interface ImportSummary {
  created: number;
  updated: number;
  unchanged: number;
}

/** The database refused a row half-way through an import: its line, and how many rows were written before its batch. */
export class ImportError extends Error {
  override readonly name = 'ImportError';

  constructor(
    readonly line: number,
    message: string,
    readonly written: number,
  ) {
    super(`line ${line}: ${message}`);
  }
}

/** Every column an import may have: the fields of the contract's bulk item. */
export const IMPORT_COLUMNS = Object.keys(ProductBulkItem.shape);
/** The columns a row cannot do without (what a create needs, and the sku it is found by). */
export const REQUIRED_COLUMNS = Object.entries(ProductBulkItem.shape)
  .filter(([, schema]) => !schema.safeParse(undefined).success)
  .map(([name]) => name);

const NUMERIC = new Set(['price', 'quantity', 'category_id']);
const DECIMAL = /^-?\d+(\.\d+)?$/;

/** RFC 4180 records: quoted fields may hold commas, quotes (doubled) and line breaks. Each record with its first line. */
function csvRecords(text: string): { line: number; cells: string[] }[] {
  const records: { line: number; cells: string[] }[] = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let line = 1;
  let start = 1;
  const endRecord = () => {
    cells.push(cell);
    if (cells.length > 1 || cells[0] !== '') records.push({ line: start, cells });
    cells = [];
    cell = '';
  };
  for (let at = 0; at < text.length; at += 1) {
    const char = text[at]!;
    if (char === '\n') line += 1;
    if (quoted) {
      if (char === '"' && text[at + 1] === '"') {
        cell += '"';
        at += 1;
      } else if (char === '"') quoted = false;
      else cell += char;
    } else if (char === '"' && cell === '') quoted = true;
    else if (char === ',') {
      cells.push(cell);
      cell = '';
    } else if (char === '\n') {
      endRecord();
      start = line;
    } else if (char !== '\r') cell += char;
  }
  endRecord();
  return records;
}

/** Line 1 of a CSV file: every column known, none twice, none of the required ones missing. */
function headerProblems(names: string[]): Problem[] {
  const problems: Problem[] = [];
  names.forEach((name, index) => {
    if (!IMPORT_COLUMNS.includes(name)) problems.push({ line: 1, field: name, message: `unknown column (the columns are ${IMPORT_COLUMNS.join(', ')})` });
    else if (names.indexOf(name) !== index) problems.push({ line: 1, field: name, message: 'appears twice in the header' });
  });
  for (const name of REQUIRED_COLUMNS) {
    if (!names.includes(name)) problems.push({ line: 1, field: name, message: 'missing column: every row needs it' });
  }
  return problems;
}

/**
 * CSV rows as fields: an empty cell leaves its field out (an update keeps the product's value); numbers become
 * numbers. A bad header is the file's only problem (it would make every row wrong); a record with the wrong number
 * of fields is a problem of its line.
 */
export function parseCsv(text: string): ParsedFile {
  const [header, ...records] = csvRecords(text.replace(/^\uFEFF/, ''));
  if (!header) return { rows: [], problems: [] };
  const names = header.cells.map((name) => name.trim());
  const problems = headerProblems(names);
  if (problems.length) return { rows: [], problems };
  const rows: SourceRow[] = [];
  for (const { line, cells } of records) {
    if (cells.length !== names.length) {
      problems.push({ line, message: `has ${cells.length} fields; the header names ${names.length}` });
      continue;
    }
    const fields: Record<string, unknown> = {};
    names.forEach((name, index) => {
      const cell = cells[index]!;
      if (cell !== '') fields[name] = NUMERIC.has(name) && DECIMAL.test(cell.trim()) ? Number(cell.trim()) : cell;
    });
    rows.push({ line, fields });
  }
  return { rows, problems };
}

/** A JSON array of products (or `{"items": [...]}`), each with the line its object starts on. */
export function parseJson(text: string): ParsedFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { rows: [], problems: [{ line: 1, message: `is not valid JSON (${(error as Error).message})` }] };
  }
  const items = Array.isArray(parsed) ? parsed : (parsed as { items?: unknown })?.items;
  if (!Array.isArray(items)) return { rows: [], problems: [{ line: 1, message: 'a JSON import is an array of products, or {"items": [...]}' }] };
  const lines = elementLines(text, Array.isArray(parsed) ? 1 : 2);
  return { rows: items.map((fields, index) => ({ line: lines[index] ?? 1, fields: fields as Record<string, unknown> })), problems: [] };
}

/** The line on which each element of the array at `depth` begins (outside strings). */
function elementLines(text: string, depth: number): number[] {
  const lines: number[] = [];
  let level = 0;
  let line = 1;
  let inString = false;
  let expecting = false;
  for (let at = 0; at < text.length; at += 1) {
    const char = text[at]!;
    if (char === '\n') line += 1;
    if (inString) {
      if (char === '\\') at += 1;
      else if (char === '"') inString = false;
      continue;
    }
    if (expecting && !/\s/.test(char) && char !== ']') {
      lines.push(line);
      expecting = false;
    }
    if (char === '"') inString = true;
    else if (char === '[' || char === '{') {
      level += 1;
      if (char === '[' && level === depth) expecting = true;
    } else if (char === ']' || char === '}') level -= 1;
    else if (char === ',' && level === depth) expecting = true;
  }
  return lines;
}

export function parseFile(path: string, text: string): ParsedFile {
  return extname(path).toLowerCase() === '.json' ? parseJson(text) : parseCsv(text);
}

/** The line of the item an error path (`["items", 3, "price"]`) names, and the field it names, as the message says it. */
function located(batch: SourceRow[], path: readonly PropertyKey[], message: string, written: number): ImportError {
  const [, index, ...field] = path;
  const row = typeof index === 'number' ? batch[index] : undefined;
  return new ImportError(row?.line ?? batch[0]?.line ?? 1, `${field.length ? `${field.map(String).join('.')}: ` : ''}${message}`, written);
}

/**
 * Upserts `rows` (checked already: `checkImport`) in batches of 1000, each all or nothing, calling `onProgress` after
 * each. A batch the database refuses stops it (an `ImportError` with the line of the row to blame, else of the batch's
 * first row, and the count of rows written before it); the batches written before it stay.
 */
export async function importProducts(db: Database, rows: SourceRow[], onProgress?: (done: number, total: number) => void): Promise<ImportSummary> {
  const summary: ImportSummary = { created: 0, updated: 0, unchanged: 0 };
  for (let start = 0; start < rows.length; start += MAX_BULK_ITEMS) {
    const batch = rows.slice(start, start + MAX_BULK_ITEMS);
    const parsed = ProductBulk.safeParse({ items: batch.map((row) => row.fields) });
    if (!parsed.success) {
      const [issue] = parsed.error.issues;
      throw located(batch, issue?.path ?? [], issue?.message ?? 'invalid', start);
    }
    const outcomes = await upsertProducts(db, parsed.data.items).catch((error: unknown) => {
      if (error instanceof DataError && Array.isArray(error.field)) throw located(batch, error.field, error.message, start);
      throw new ImportError(batch[0]!.line, `its batch of ${batch.length} failed: ${describeDatabaseError(error)}`, start);
    });
    for (const { status } of outcomes) summary[status] += 1;
    onProgress?.(start + batch.length, rows.length);
  }
  return summary;
}

export async function readImportFile(path: string): Promise<ParsedFile> {
  return parseFile(path, await readFile(path, 'utf8'));
}
