import type { Migration } from '../migrator.js';

/**
 * A name holds `q` exactly when it starts with it or holds it after its first letter, so the list's name filter and
 * the filtered search now match `name_lower LIKE 'q%' OR substr(name_lower, 2) LIKE '%q%'` through the two indexes
 * migration 2026.12.06T22.00.00 added (a bitmap OR of the prefix range and the trigrams of the name without its first
 * letter), and the trigram index on the whole name only cost every write: one trigram index per product row, as
 * before that migration.
 */
export const up: Migration = async ({ context: { sql } }) => {
  await sql(`DROP INDEX product_search_name_lower_trgm_idx`);
};

export const down: Migration = async ({ context: { sql } }) => {
  await sql(`CREATE INDEX product_search_name_lower_trgm_idx ON product_search USING gin (name_lower gin_trgm_ops) WITH (gin_pending_list_limit = 64)`);
};
