import type { Migration } from '../migrator.js';

// Responses carry updated_at with millisecond precision (a JS Date), so a step of one microsecond let three updates
// within one millisecond return equal values. Each change now moves it forward by at least one millisecond.
export const up: Migration = async ({ context: { sql } }) => {
  await sql(`
    CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.updated_at := greatest(now(), OLD.updated_at + interval '1 millisecond');
      RETURN NEW;
    END $$;
  `);
};

export const down: Migration = async ({ context: { sql } }) => {
  await sql(`
    CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.updated_at := greatest(now(), OLD.updated_at + interval '1 microsecond');
      RETURN NEW;
    END $$;
  `);
};
