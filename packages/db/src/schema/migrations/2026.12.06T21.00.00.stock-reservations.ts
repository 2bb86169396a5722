import type { Migration } from '../migrator.js';

/**
 * Contract v1.3, stock reservations. A reservation stores its state as last written (`active`, `committed`,
 * `released`, or `expired` once the sweeper tidied it) and its `expires_at`; the status a client sees is computed at
 * each read (`active` past `expires_at` is `expired`), so correctness never waits for the sweeper. Each item copies
 * the reservation's `expires_at` into `held_until` while the reservation holds it, and NULL from its commit, release
 * or sweep: a product's `reserved` is the sum of its items with `held_until` after the instant of the read, one probe
 * of `reservation_items_held_idx` (empty when nothing is held, so a read of a product without reservations pays for an
 * empty index). Items keep their `product_id` after the product is deleted (no FK: the delete is refused while a
 * hold exists, and a committed reservation outlives its product).
 *
 * Reservation events carry the reservation's uuid in `entity_key` (`entity_id` stays the integer id of products and
 * categories). A product event's data now also carries the product's `reserved` at the change.
 */
const productEvent = (reserved: string) => `
  CREATE OR REPLACE FUNCTION append_product_event() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF TG_OP = 'DELETE' THEN
      INSERT INTO events (type, entity, entity_id, version) VALUES ('product.deleted', 'product', OLD.id, OLD.version + 1);
      RETURN NULL;
    END IF;
    INSERT INTO events (type, entity, entity_id, version, data)
    VALUES (CASE TG_OP WHEN 'INSERT' THEN 'product.created' ELSE 'product.updated' END, 'product', NEW.id, NEW.version,
            to_jsonb(NEW) || jsonb_build_object('category_name', (SELECT c.name FROM categories c WHERE c.id = NEW.category_id)${reserved}));
    RETURN NULL;
  END $$;
`;

const TYPES = ['product.created', 'product.updated', 'product.deleted', 'category.created', 'category.updated', 'category.deleted'];
const RESERVATION_TYPES = ['reservation.created', 'reservation.committed', 'reservation.released', 'reservation.expired'];
const typeCheck = (types: string[]) => `ALTER TABLE events ADD CONSTRAINT events_type_check CHECK (type IN (${types.map((type) => `'${type}'`).join(', ')}))`;

export const up: Migration = async ({ context: { sql } }) => {
  await sql(`
    CREATE TABLE reservations (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      state varchar(16) NOT NULL DEFAULT 'active' CONSTRAINT reservations_state_check CHECK (state IN ('active', 'committed', 'released', 'expired')),
      reference varchar(200) CONSTRAINT reservations_reference_check CHECK (char_length(reference) >= 1),
      expires_at timestamptz NOT NULL CONSTRAINT reservations_expires_at_check CHECK (expires_at = date_trunc('milliseconds', expires_at)),
      version integer NOT NULL DEFAULT 1 CONSTRAINT reservations_version_check CHECK (version >= 1),
      created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()) CONSTRAINT reservations_created_at_check CHECK (created_at = date_trunc('milliseconds', created_at)),
      updated_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()) CONSTRAINT reservations_updated_at_check CHECK (updated_at = date_trunc('milliseconds', updated_at)),
      CONSTRAINT reservations_ttl_check CHECK (expires_at > created_at AND expires_at <= created_at + interval '86400 seconds')
    );
    -- The list: newest first (ties by id), by reference, and the sweeper's overdue active reservations.
    CREATE INDEX reservations_created_at_id_idx ON reservations (created_at, id);
    CREATE INDEX reservations_reference_idx ON reservations (reference) WHERE reference IS NOT NULL;
    CREATE INDEX reservations_overdue_idx ON reservations (expires_at) WHERE state = 'active';
    CREATE TRIGGER reservations_set_updated_at BEFORE UPDATE ON reservations FOR EACH ROW EXECUTE FUNCTION set_updated_at();

    CREATE TABLE reservation_items (
      reservation_id uuid NOT NULL REFERENCES reservations (id) ON DELETE CASCADE,
      product_id integer NOT NULL CONSTRAINT reservation_items_product_id_check CHECK (product_id >= 1),
      quantity integer NOT NULL CONSTRAINT reservation_items_quantity_check CHECK (quantity >= 1),
      held_until timestamptz,
      PRIMARY KEY (reservation_id, product_id)
    );
    CREATE INDEX reservation_items_product_id_idx ON reservation_items (product_id);
    CREATE INDEX reservation_items_held_idx ON reservation_items (product_id, held_until) INCLUDE (quantity) WHERE held_until IS NOT NULL;

    ALTER TABLE events DROP CONSTRAINT events_type_check;
    ${typeCheck([...TYPES, ...RESERVATION_TYPES])};
    ALTER TABLE events ALTER COLUMN entity_id DROP NOT NULL, ADD COLUMN entity_key uuid,
      ADD CONSTRAINT events_entity_key_check CHECK ((entity = 'reservation') = (entity_key IS NOT NULL) AND (entity_key IS NULL) = (entity_id IS NOT NULL));
    ${productEvent(`,
              'reserved', (SELECT coalesce(sum(h.quantity), 0) FROM reservation_items h WHERE h.product_id = NEW.id AND h.held_until > clock_timestamp())`)}
  `);
};

export const down: Migration = async ({ context: { sql } }) => {
  await sql(`
    ${productEvent('')}
    DELETE FROM events WHERE entity = 'reservation';
    ALTER TABLE events DROP CONSTRAINT events_entity_key_check, DROP COLUMN entity_key, ALTER COLUMN entity_id SET NOT NULL;
    ALTER TABLE events DROP CONSTRAINT events_type_check;
    ${typeCheck(TYPES)};
    DROP TABLE reservation_items;
    DROP TABLE reservations;
  `);
};
