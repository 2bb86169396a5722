import type { Migration } from '../migrator.js';

export const up: Migration = async ({ context: { sql } }) => {
  // Name searches (ILIKE '%…%') use products_name_trgm_idx, but GIN's fast update first parks new names in an
  // unsorted pending list of up to 4 MB that every search reads in full and only VACUUM or an overflow merges.
  // With 100 000 products and a nearly full list, EXPLAIN showed a Seq Scan for `ноутбук` instead of the index.
  // 64 kB (the minimum) keeps that list to a few pages while still batching inserts: seeding 100 000 products
  // takes about 1.5x as long, where fastupdate = off took 3-4x. The existing list is merged now, not on the next insert.
  await sql(`
    ALTER INDEX products_name_trgm_idx SET (gin_pending_list_limit = 64);
    SELECT gin_clean_pending_list('products_name_trgm_idx');
  `);
  // Every sort key gets an index ending in id, the tie-breaker, so a page is an ordered index walk.
  // The category + price index also carries quantity: the count behind a category/price/in_stock page is
  // then an index-only scan instead of a visit to every matching row.
  await sql(`
    CREATE INDEX products_name_id_idx ON products (name, id);
    CREATE INDEX products_quantity_id_idx ON products (quantity, id);
    CREATE INDEX products_updated_at_id_idx ON products (updated_at, id);
    CREATE INDEX products_category_id_price_quantity_idx ON products (category_id, price, id) INCLUDE (quantity);
    DROP INDEX products_category_id_price_idx;
  `);
};

export const down: Migration = async ({ context: { sql } }) => {
  await sql(`
    CREATE INDEX products_category_id_price_idx ON products (category_id, price, id);
    DROP INDEX products_category_id_price_quantity_idx;
    DROP INDEX products_updated_at_id_idx;
    DROP INDEX products_quantity_id_idx;
    DROP INDEX products_name_id_idx;
    ALTER INDEX products_name_trgm_idx RESET (gin_pending_list_limit);
  `);
};
