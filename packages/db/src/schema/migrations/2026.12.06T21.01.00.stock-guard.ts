import type { Migration } from '../migrator.js';

/**
 * Contract v1.3: no write takes a product's `quantity` below its units reserved, and no product held by an active
 * reservation is deleted — whichever path writes (PATCH, PUT, a bulk upsert, the import, psql). The checks are BEFORE
 * row triggers because those run once the row is locked: their query takes a fresh snapshot then, so it sees every
 * hold committed by a reservation that locked the row first (a condition in the UPDATE's own WHERE would read the
 * statement's older snapshot and miss it). An increase or an update that leaves `quantity` alone calls nothing. The
 * errors carry SQLSTATEs of their own, which the store classifies as conflicts; their text holds only numbers.
 */
export const up: Migration = async ({ context: { sql } }) => {
  await sql(`
    CREATE FUNCTION products_guard_reserved() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      held integer := (SELECT coalesce(sum(h.quantity), 0) FROM reservation_items h WHERE h.product_id = OLD.id AND h.held_until > clock_timestamp());
    BEGIN
      IF TG_OP = 'DELETE' AND held > 0 THEN
        RAISE EXCEPTION 'Product % is held by active reservations (% units reserved); release or commit them first', OLD.id, held USING ERRCODE = 'TR409';
      END IF;
      IF TG_OP = 'UPDATE' AND NEW.quantity < held THEN
        RAISE EXCEPTION 'Product % has % units reserved; its quantity cannot go below them (asked: %)', OLD.id, held, NEW.quantity USING ERRCODE = 'TR409';
      END IF;
      RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
    END $$;
    CREATE TRIGGER products_guard_reserved_update BEFORE UPDATE OF quantity ON products
      FOR EACH ROW WHEN (NEW.quantity < OLD.quantity) EXECUTE FUNCTION products_guard_reserved();
    CREATE TRIGGER products_guard_reserved_delete BEFORE DELETE ON products FOR EACH ROW EXECUTE FUNCTION products_guard_reserved();
  `);
};

export const down: Migration = async ({ context: { sql } }) => {
  await sql(`
    DROP TRIGGER products_guard_reserved_delete ON products;
    DROP TRIGGER products_guard_reserved_update ON products;
    DROP FUNCTION products_guard_reserved();
  `);
};
