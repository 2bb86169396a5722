import type { Migration } from '../migrator.js';

/**
 * Contract v1.2: a `version` on products and categories, and the change feed's outbox. Both are kept by the
 * database itself, in the transaction of the change, so no write path (the API, a bulk upsert, the import CLI, an
 * operator's psql session) can forget either: BEFORE UPDATE triggers advance the version, AFTER triggers append one
 * event per changed row. An event's `data` is the row as it stood after the change (with its category's name, or
 * its product count), mapped to the contract's resource by the reader; a deletion's `data` is null and its version
 * the one after the last.
 */
export const up: Migration = async ({ context: { sql } }) => {
  await sql(`
    ALTER TABLE categories ADD COLUMN version integer NOT NULL DEFAULT 1 CONSTRAINT categories_version_check CHECK (version >= 1);
    ALTER TABLE products ADD COLUMN version integer NOT NULL DEFAULT 1 CONSTRAINT products_version_check CHECK (version >= 1);

    CREATE FUNCTION advance_version() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.version := OLD.version + 1;
      RETURN NEW;
    END $$;

    CREATE TRIGGER categories_advance_version BEFORE UPDATE ON categories FOR EACH ROW EXECUTE FUNCTION advance_version();
    CREATE TRIGGER products_advance_version BEFORE UPDATE ON products FOR EACH ROW EXECUTE FUNCTION advance_version();

    CREATE TABLE events (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      type varchar(32) NOT NULL,
      entity varchar(16) NOT NULL,
      entity_id integer NOT NULL,
      version integer NOT NULL,
      occurred_at timestamptz NOT NULL DEFAULT now(),
      data jsonb,
      CONSTRAINT events_type_check CHECK (type IN ('product.created', 'product.updated', 'product.deleted', 'category.created', 'category.updated', 'category.deleted')),
      CONSTRAINT events_entity_check CHECK (split_part(type, '.', 1) = entity),
      CONSTRAINT events_data_check CHECK ((data IS NULL) = (type LIKE '%.deleted'))
    );
    CREATE INDEX events_occurred_at_idx ON events (occurred_at);

    CREATE FUNCTION append_product_event() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        INSERT INTO events (type, entity, entity_id, version) VALUES ('product.deleted', 'product', OLD.id, OLD.version + 1);
        RETURN NULL;
      END IF;
      INSERT INTO events (type, entity, entity_id, version, data)
      VALUES (CASE TG_OP WHEN 'INSERT' THEN 'product.created' ELSE 'product.updated' END, 'product', NEW.id, NEW.version,
              to_jsonb(NEW) || jsonb_build_object('category_name', (SELECT c.name FROM categories c WHERE c.id = NEW.category_id)));
      RETURN NULL;
    END $$;

    CREATE FUNCTION append_category_event() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        INSERT INTO events (type, entity, entity_id, version) VALUES ('category.deleted', 'category', OLD.id, OLD.version + 1);
        RETURN NULL;
      END IF;
      INSERT INTO events (type, entity, entity_id, version, data)
      VALUES (CASE TG_OP WHEN 'INSERT' THEN 'category.created' ELSE 'category.updated' END, 'category', NEW.id, NEW.version,
              to_jsonb(NEW) || jsonb_build_object('product_count', (SELECT count(*) FROM products p WHERE p.category_id = NEW.id)));
      RETURN NULL;
    END $$;

    CREATE TRIGGER products_append_event AFTER INSERT OR UPDATE OR DELETE ON products FOR EACH ROW EXECUTE FUNCTION append_product_event();
    CREATE TRIGGER categories_append_event AFTER INSERT OR UPDATE OR DELETE ON categories FOR EACH ROW EXECUTE FUNCTION append_category_event();
  `);
};

export const down: Migration = async ({ context: { sql } }) => {
  await sql(`
    DROP TRIGGER categories_append_event ON categories;
    DROP TRIGGER products_append_event ON products;
    DROP FUNCTION append_category_event();
    DROP FUNCTION append_product_event();
    DROP TABLE events;
    DROP TRIGGER products_advance_version ON products;
    DROP TRIGGER categories_advance_version ON categories;
    DROP FUNCTION advance_version();
    ALTER TABLE products DROP COLUMN version;
    ALTER TABLE categories DROP COLUMN version;
  `);
};
