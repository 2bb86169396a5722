import type { Migration } from '../migrator.js';

/**
 * A narrow copy of every product's name for relevance-ordered search, which must visit every match: id, name
 * and its lower case, kept by triggers. A match costs a few dozen bytes of heap instead of a whole product row,
 * and its lower case is computed once per write instead of three times per match on every search (W3 on 100 000
 * products: see the README). Names match as ILIKE does in a UTF-8 database: `lower(name) LIKE lower(pattern)`.
 */
export const up: Migration = async ({ context: { sql } }) => {
  await sql(`
    LOCK TABLE products IN SHARE ROW EXCLUSIVE MODE;

    CREATE TABLE product_search (
      id integer PRIMARY KEY,
      name varchar(200) NOT NULL,
      name_lower text NOT NULL
    );
    INSERT INTO product_search (id, name, name_lower) SELECT id, name, lower(name) FROM products;
    CREATE INDEX product_search_name_lower_trgm_idx ON product_search USING gin (name_lower gin_trgm_ops) WITH (gin_pending_list_limit = 64);

    CREATE FUNCTION product_search_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO product_search (id, name, name_lower) SELECT id, name, lower(name) FROM inserted;
      RETURN NULL;
    END $$;

    CREATE FUNCTION product_search_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM product_search s USING deleted WHERE s.id = deleted.id;
      RETURN NULL;
    END $$;

    CREATE FUNCTION product_search_renamed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE product_search SET name = NEW.name, name_lower = lower(NEW.name) WHERE id = NEW.id;
      RETURN NULL;
    END $$;

    CREATE FUNCTION product_search_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      TRUNCATE product_search;
      RETURN NULL;
    END $$;

    CREATE TRIGGER product_search_inserted AFTER INSERT ON products
      REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION product_search_inserted();
    CREATE TRIGGER product_search_deleted AFTER DELETE ON products
      REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION product_search_deleted();
    -- Only a rename enters PL/pgSQL: stock and price updates are filtered out by the WHEN clause.
    CREATE TRIGGER product_search_renamed AFTER UPDATE OF name ON products
      FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION product_search_renamed();
    CREATE TRIGGER product_search_truncated AFTER TRUNCATE ON products
      FOR EACH STATEMENT EXECUTE FUNCTION product_search_truncated();
  `);
};

export const down: Migration = async ({ context: { sql } }) => {
  await sql(`
    DROP TRIGGER product_search_truncated ON products;
    DROP TRIGGER product_search_renamed ON products;
    DROP TRIGGER product_search_deleted ON products;
    DROP TRIGGER product_search_inserted ON products;
    DROP FUNCTION product_search_truncated();
    DROP FUNCTION product_search_renamed();
    DROP FUNCTION product_search_deleted();
    DROP FUNCTION product_search_inserted();
    DROP TABLE product_search;
  `);
};
