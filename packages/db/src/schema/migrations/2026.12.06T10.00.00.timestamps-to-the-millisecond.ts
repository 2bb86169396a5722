import type { Migration } from '../migrator.js';

/**
 * Contract v1.3 "cursors are exact": every timestamp the API shows is stored as it is shown, to the millisecond, so a
 * cursor's timestamp compares exactly against the column. Microseconds made a cursor whose row was deleted or changed
 * skip or repeat a whole bulk's rows (issue 27). Stored values are truncated, every write path (column defaults, the
 * updated_at trigger) writes whole milliseconds, and a CHECK per column refuses anything finer from any writer.
 * Truncating is monotone, so no updated_at falls below its created_at, and no unique index holds a timestamp. Idempotency
 * keys' created_at is neither shown nor in a cursor and keeps its precision; events' `data` keeps the text it was
 * written with (shown through a JS Date, so to the millisecond already).
 */
const STAMPED: Record<string, string[]> = {
  categories: ['created_at', 'updated_at'],
  products: ['created_at', 'updated_at'],
  events: ['occurred_at'],
};

/** The trigger function behind every table's updated_at, moving it forward by at least a millisecond on each change. */
const setUpdatedAt = (current: string) => `
  CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    NEW.updated_at := greatest(${current}, OLD.updated_at + interval '1 millisecond');
    RETURN NEW;
  END $$;
`;

const truncated = (column: string) => `date_trunc('milliseconds', ${column})`;

const each = (statement: (table: string, columns: string[]) => string) =>
  Object.entries(STAMPED)
    .map(([table, columns]) => statement(table, columns))
    .join('\n');

export const up: Migration = async ({ context: { sql } }) => {
  // The backfill changes no value as the API shows it: disabling the tables' own triggers for it (this transaction
  // holds their ACCESS EXCLUSIVE lock, so no other write runs meanwhile) keeps updated_at and version as they are and
  // appends no event; names and categories do not change, so the maintained counts and search copy need nothing.
  await sql(`
    ALTER TABLE categories DISABLE TRIGGER USER;
    ALTER TABLE products DISABLE TRIGGER USER;
    ${each(
      (table, columns) => `UPDATE ${table} SET ${columns.map((column) => `${column} = ${truncated(column)}`).join(', ')}
        WHERE ${columns.map((column) => `${column} <> ${truncated(column)}`).join(' OR ')};`,
    )}
    ALTER TABLE categories ENABLE TRIGGER USER;
    ALTER TABLE products ENABLE TRIGGER USER;
  `);
  await sql(`
    ${each(
      (table, columns) => `ALTER TABLE ${table}
        ${columns.map((column) => `ALTER COLUMN ${column} SET DEFAULT ${truncated('now()')}`).join(', ')},
        ${columns.map((column) => `ADD CONSTRAINT ${table}_${column}_check CHECK (${column} = ${truncated(column)})`).join(', ')};`,
    )}
    ${setUpdatedAt(truncated('now()'))}
  `);
};

export const down: Migration = async ({ context: { sql } }) => {
  await sql(`
    ${each(
      (table, columns) => `ALTER TABLE ${table}
        ${columns.map((column) => `DROP CONSTRAINT ${table}_${column}_check`).join(', ')},
        ${columns.map((column) => `ALTER COLUMN ${column} SET DEFAULT now()`).join(', ')};`,
    )}
    ${setUpdatedAt('now()')}
  `);
};
