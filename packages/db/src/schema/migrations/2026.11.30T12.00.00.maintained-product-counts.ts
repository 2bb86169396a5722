import type { Migration } from '../migrator.js';

/**
 * How many products each category has (category 0: none), kept by triggers so an unfiltered or category-only
 * list reads its exact total from a few rows instead of counting up to 1 000 000. Each key has SLOTS counter
 * rows and a write adds to one chosen at random, so concurrent inserts rarely wait on the same row; a read
 * sums them. The rows change in the writer's transaction, so a statement's snapshot sees counts and products
 * agree.
 */
const SLOTS = 32;

export const up: Migration = async ({ context: { sql } }) => {
  // No write may slip between the backfill and the triggers that take over from it.
  await sql(`
    LOCK TABLE products IN SHARE ROW EXCLUSIVE MODE;

    CREATE TABLE product_counts (
      category_key integer NOT NULL,
      slot smallint NOT NULL,
      n bigint NOT NULL,
      PRIMARY KEY (category_key, slot)
    );

    INSERT INTO product_counts (category_key, slot, n)
      SELECT coalesce(category_id, 0), 0, count(*) FROM products GROUP BY 1;

    CREATE FUNCTION product_counts_add(keys integer[], deltas bigint[]) RETURNS void LANGUAGE sql AS $$
      INSERT INTO product_counts AS c (category_key, slot, n)
        SELECT change.key, floor(random() * ${SLOTS})::smallint, change.delta
        FROM unnest(keys, deltas) AS change (key, delta) WHERE change.delta <> 0
        ORDER BY change.key
      ON CONFLICT (category_key, slot) DO UPDATE SET n = c.n + excluded.n;
    $$;

    CREATE FUNCTION product_counts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM product_counts_add(array_agg(key), array_agg(n))
        FROM (SELECT coalesce(category_id, 0) AS key, count(*) AS n FROM inserted GROUP BY 1) added;
      RETURN NULL;
    END $$;

    CREATE FUNCTION product_counts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM product_counts_add(array_agg(key), array_agg(-n))
        FROM (SELECT coalesce(category_id, 0) AS key, count(*) AS n FROM deleted GROUP BY 1) removed;
      RETURN NULL;
    END $$;

    CREATE FUNCTION product_counts_moved() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM product_counts_add(ARRAY[coalesce(OLD.category_id, 0), coalesce(NEW.category_id, 0)], ARRAY[-1, 1]::bigint[]);
      RETURN NULL;
    END $$;

    CREATE FUNCTION product_counts_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM product_counts;
      RETURN NULL;
    END $$;

    CREATE TRIGGER product_counts_inserted AFTER INSERT ON products
      REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION product_counts_inserted();
    CREATE TRIGGER product_counts_deleted AFTER DELETE ON products
      REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION product_counts_deleted();
    -- A row trigger with a WHEN clause: stock and price updates never enter PL/pgSQL.
    CREATE TRIGGER product_counts_moved AFTER UPDATE OF category_id ON products
      FOR EACH ROW WHEN (OLD.category_id IS DISTINCT FROM NEW.category_id) EXECUTE FUNCTION product_counts_moved();
    CREATE TRIGGER product_counts_truncated AFTER TRUNCATE ON products
      FOR EACH STATEMENT EXECUTE FUNCTION product_counts_truncated();
  `);
};

export const down: Migration = async ({ context: { sql } }) => {
  await sql(`
    DROP TRIGGER product_counts_truncated ON products;
    DROP TRIGGER product_counts_moved ON products;
    DROP TRIGGER product_counts_deleted ON products;
    DROP TRIGGER product_counts_inserted ON products;
    DROP FUNCTION product_counts_truncated();
    DROP FUNCTION product_counts_moved();
    DROP FUNCTION product_counts_deleted();
    DROP FUNCTION product_counts_inserted();
    DROP FUNCTION product_counts_add(integer[], bigint[]);
    DROP TABLE product_counts;
  `);
};
