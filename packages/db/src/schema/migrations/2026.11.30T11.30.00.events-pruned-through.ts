import type { Migration } from '../migrator.js';

/**
 * The change feed's retention watermark: every event with an id up to `pruned_through` has been pruned. Ids have
 * gaps (aborted transactions), so the smallest id kept cannot tell a pruned cursor from a gap; this row can.
 */
export const up: Migration = async ({ context: { sql } }) => {
  await sql(`
    CREATE TABLE events_retention (
      singleton boolean PRIMARY KEY DEFAULT true CONSTRAINT events_retention_singleton_check CHECK (singleton),
      pruned_through bigint NOT NULL DEFAULT 0 CONSTRAINT events_retention_pruned_through_check CHECK (pruned_through >= 0)
    );
    INSERT INTO events_retention DEFAULT VALUES;
  `);
};

export const down: Migration = async ({ context: { sql } }) => {
  await sql('DROP TABLE events_retention;');
};
