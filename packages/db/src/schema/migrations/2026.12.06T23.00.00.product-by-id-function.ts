import type { Migration } from '../migrator.js';

/**
 * Contract v1.3, behind PgBouncer in transaction mode: the by-id read (W1) as a PL/pgSQL function. There no statement
 * may be named (PgBouncer 1.18 has no prepared statements), so the plain by-id SELECT would be parsed and planned on
 * every call: W1 through the pooler ran 32–50 % below W1 direct. PL/pgSQL keeps the plan of its query per server
 * process, which PgBouncer leaves alone, and `SELECT * FROM catalog_product_by_id($1)` is trivial to parse and plan:
 * on one database at 8 connections (4 s each, alternating) the plain SELECT made 8 390 and 9 350 reads/s named, 4 434
 * and 3 309 unnamed, and this function unnamed 8 503 and 8 978. `store/products.ts` calls it only in that mode.
 *
 * The same row as the plain statement: the product's columns in the model's order, its category's name, and the
 * units reserved at the read (`reservations/held.ts`'s `heldUnits` at `now()`). STABLE, so it reads the calling
 * statement's snapshot. `test/pooler.test.ts` (apps/server) compares both on products with and without holds.
 */
export const up: Migration = async ({ context: { sql } }) => {
  await sql(`
    CREATE FUNCTION catalog_product_by_id(wanted integer)
      RETURNS TABLE (id integer, name varchar, description varchar, price numeric, quantity integer, sku varchar, category_id integer,
                     version integer, created_at timestamptz, updated_at timestamptz, category_name varchar, reserved integer)
      LANGUAGE plpgsql STABLE AS $$
    BEGIN
      RETURN QUERY
        SELECT p.id, p.name, p.description, p.price, p.quantity, p.sku, p.category_id, p.version, p.created_at, p.updated_at, c.name,
               (SELECT coalesce(sum(h.quantity), 0)::int FROM reservation_items h WHERE h.product_id = p.id AND h.held_until > now())
        FROM products p LEFT JOIN categories c ON c.id = p.category_id
        WHERE p.id = wanted;
    END $$;
  `);
};

export const down: Migration = async ({ context: { sql } }) => {
  await sql('DROP FUNCTION catalog_product_by_id(integer);');
};
