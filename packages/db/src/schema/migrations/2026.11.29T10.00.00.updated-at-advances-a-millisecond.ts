import type { Migration } from '../migrator.js';

/** The trigger function behind every table's updated_at, moving it forward by at least `step` on each change. */
const setUpdatedAt = (step: '1 millisecond' | '1 microsecond') => `
  CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    NEW.updated_at := greatest(now(), OLD.updated_at + interval '${step}');
    RETURN NEW;
  END $$;
`;

// Responses carry updated_at with millisecond precision (a JS Date), so a step of one microsecond let three updates
// within one millisecond return equal values. Each change now moves it forward by at least one millisecond.
export const up: Migration = async ({ context: { sql } }) => {
  await sql(setUpdatedAt('1 millisecond'));
};

export const down: Migration = async ({ context: { sql } }) => {
  await sql(setUpdatedAt('1 microsecond'));
};
