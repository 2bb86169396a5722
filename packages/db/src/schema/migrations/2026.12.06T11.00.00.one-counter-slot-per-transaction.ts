import type { Migration } from '../migrator.js';

/**
 * Each transaction that changes the maintained counts now owns one counter slot for its whole life, so no two
 * writers ever touch the same `product_counts` row and no counter can be part of a deadlock. Before, every insert,
 * move and delete added to a slot drawn at random, row by row: a bulk moving 300 products between categories locked
 * dozens of counter rows in random order while another bulk or an update locked others, and 4 of 6 concurrent
 * bulks of disjoint skus died of `deadlock detected` (packages/db/test/writers.test.ts).
 *
 * A slot is owned through a transaction-level advisory lock: the first count change of a transaction takes the
 * first free slot from one its backend's pid picks, and later ones in the same transaction read it back from a
 * transaction-local setting. Only past SLOTS concurrent counting writers does one wait for a slot (the lock is then
 * taken blocking); the store retries the rare deadlock that could then still occur. Reads sum every slot, as before.
 */
const SLOTS = 128;
// The advisory lock's first key: a class of its own, apart from the idempotency keys' (727 361 013).
const LOCK_CLASS = 727_361_017;

/** The count functions as 2026.11.30T12.00.00 and 2026.11.30T13.00.00 made them, each slot chosen by `slot`. */
const countFunctions = (slot: string, insertSlot: string) => `
  CREATE OR REPLACE FUNCTION product_counts_add(keys integer[], deltas bigint[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO product_counts AS c (category_key, slot, n)
      SELECT change.key, ${slot}, change.delta
      FROM unnest(keys, deltas) AS change (key, delta) WHERE change.delta <> 0
      ORDER BY change.key
    ON CONFLICT (category_key, slot) DO UPDATE SET n = c.n + excluded.n;
  $$;

  CREATE OR REPLACE FUNCTION products_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    INSERT INTO product_search (id, name, name_lower) SELECT id, name, lower(name) FROM inserted;
    INSERT INTO product_counts AS c (category_key, slot, n)
      SELECT coalesce(category_id, 0), ${insertSlot}, count(*) FROM inserted GROUP BY 1 ORDER BY 1
    ON CONFLICT (category_key, slot) DO UPDATE SET n = c.n + excluded.n;
    INSERT INTO events (type, entity, entity_id, version, data)
      SELECT 'product.created', 'product', i.id, i.version, to_jsonb(i) || jsonb_build_object('category_name', c.name)
      FROM inserted i LEFT JOIN categories c ON c.id = i.category_id ORDER BY i.id;
    RETURN NULL;
  END $$;
`;

export const up: Migration = async ({ context: { sql } }) => {
  await sql(`
    CREATE FUNCTION product_counts_slot() RETURNS smallint LANGUAGE plpgsql AS $$
    DECLARE
      owned text := current_setting('tradeos.counts_slot', true);
      first integer := pg_backend_pid() % ${SLOTS};
      candidate integer;
    BEGIN
      IF owned <> '' THEN
        RETURN owned::smallint;
      END IF;
      FOR step IN 0 .. ${SLOTS - 1} LOOP
        candidate := (first + step) % ${SLOTS};
        IF pg_try_advisory_xact_lock(${LOCK_CLASS}, candidate) THEN
          PERFORM set_config('tradeos.counts_slot', candidate::text, true);
          RETURN candidate;
        END IF;
      END LOOP;
      PERFORM pg_advisory_xact_lock(${LOCK_CLASS}, first);
      PERFORM set_config('tradeos.counts_slot', first::text, true);
      RETURN first;
    END $$;
    ${countFunctions('product_counts_slot()', 'product_counts_slot()')}
  `);
};

export const down: Migration = async ({ context: { sql } }) => {
  await sql(`
    ${countFunctions('floor(random() * 32)::smallint', 'floor(random() * 128)::smallint')}
    DROP FUNCTION product_counts_slot();
  `);
};
