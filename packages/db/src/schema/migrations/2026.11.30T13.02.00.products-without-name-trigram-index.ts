import type { Migration } from '../migrator.js';

/**
 * A name filter on the lists (`q`) now finds its matches in `product_search`'s trigram index, as relevance search
 * does, so the trigram index on `products.name` served nothing but cost every write: a stock change is not a HOT
 * update (quantity and updated_at are indexed), so each one inserted the unchanged name's trigrams into it again.
 * PostgreSQL's own rate for W4's statement (pgbench, 1 client, synchronous_commit off, 100 000 products): 1 992 and
 * 2 154 tps with the index, 2 989 and 2 775 without; W5's insert the same within noise.
 */
export const up: Migration = async ({ context: { sql } }) => {
  await sql(`DROP INDEX products_name_trgm_idx`);
};

export const down: Migration = async ({ context: { sql } }) => {
  await sql(`CREATE INDEX products_name_trgm_idx ON products USING gin (name gin_trgm_ops) WITH (gin_pending_list_limit = 64)`);
};
