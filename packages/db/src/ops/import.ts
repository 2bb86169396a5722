/**
 * `pnpm db:import FILE`: products from a CSV file (with a header row) or a JSON array, upserted by sku through the
 * bulk upsert the API uses, in batches of 1000. A bad row stops the import with its line in the file; the batches
 * before it are written, nothing of its own batch is.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { MAX_BULK_ITEMS, ProductBulk } from '@tradeos/contract';
import type { Database } from '../connection/database.js';
import { DataError } from '../errors.js';
import { upsertProducts } from '../store/upsert.js';

/** One record of the file and the line it starts on. */
export interface SourceRow {
  line: number;
  fields: Record<string, unknown>;
}

export interface ImportSummary {
  created: number;
  updated: number;
  unchanged: number;
}

/** A row the import refused: its line in the file and what is wrong with it. */
export class ImportError extends Error {
  override readonly name = 'ImportError';

  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

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

/** CSV rows as fields: an empty cell leaves its field out (an update keeps the product's value); numbers become numbers. */
export function parseCsv(text: string): SourceRow[] {
  const [header, ...records] = csvRecords(text.replace(/^\uFEFF/, ''));
  if (!header) return [];
  const names = header.cells.map((name) => name.trim());
  return records.map(({ line, cells }) => {
    if (cells.length !== names.length) throw new ImportError(line, `has ${cells.length} fields; the header names ${names.length}`);
    const fields: Record<string, unknown> = {};
    names.forEach((name, index) => {
      const cell = cells[index]!;
      if (cell !== '') fields[name] = NUMERIC.has(name) && DECIMAL.test(cell.trim()) ? Number(cell.trim()) : cell;
    });
    return { line, fields };
  });
}

/** A JSON array of products (or `{"items": [...]}`), each with the line its object starts on. */
export function parseJson(text: string): SourceRow[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ImportError(1, `is not valid JSON (${(error as Error).message})`);
  }
  const items = Array.isArray(parsed) ? parsed : (parsed as { items?: unknown })?.items;
  if (!Array.isArray(items)) throw new ImportError(1, 'a JSON import is an array of products, or {"items": [...]}');
  const lines = elementLines(text, Array.isArray(parsed) ? 1 : 2);
  return items.map((fields, index) => ({ line: lines[index] ?? 1, fields: fields as Record<string, unknown> }));
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

export function parseFile(path: string, text: string): SourceRow[] {
  return extname(path).toLowerCase() === '.json' ? parseJson(text) : parseCsv(text);
}

/** The line of the item an error path (`["items", 3, "price"]`) names, and the field it names, as the message says it. */
function located(batch: SourceRow[], path: readonly PropertyKey[], message: string): ImportError {
  const [, index, ...field] = path;
  const row = typeof index === 'number' ? batch[index] : undefined;
  return new ImportError(row?.line ?? batch[0]?.line ?? 1, `${field.length ? `${field.map(String).join('.')}: ` : ''}${message}`);
}

/**
 * Validates and upserts `rows` in batches of 1000, each all or nothing, calling `onProgress` after each. Stops at the
 * first bad row (an `ImportError` with its line); the batches written before it stay written.
 */
export async function importProducts(db: Database, rows: SourceRow[], onProgress?: (done: number, total: number) => void): Promise<ImportSummary> {
  const summary: ImportSummary = { created: 0, updated: 0, unchanged: 0 };
  for (let start = 0; start < rows.length; start += MAX_BULK_ITEMS) {
    const batch = rows.slice(start, start + MAX_BULK_ITEMS);
    const parsed = ProductBulk.safeParse({ items: batch.map((row) => row.fields) });
    if (!parsed.success) {
      const [issue] = parsed.error.issues;
      throw located(batch, issue?.path ?? [], issue?.message ?? 'invalid');
    }
    const outcomes = await upsertProducts(db, parsed.data.items).catch((error: unknown) => {
      throw error instanceof DataError && Array.isArray(error.field) ? located(batch, error.field, error.message) : error;
    });
    for (const { status } of outcomes) summary[status] += 1;
    onProgress?.(start + batch.length, rows.length);
  }
  return summary;
}

export async function readImportFile(path: string): Promise<SourceRow[]> {
  return parseFile(path, await readFile(path, 'utf8'));
}
