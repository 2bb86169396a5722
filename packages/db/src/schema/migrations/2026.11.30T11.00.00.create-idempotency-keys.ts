import type { Migration } from '../migrator.js';

/**
 * Contract v1.2: idempotency keys. One row per (caller scope, key): the hash of the request it was first used for
 * and the response that request got, written in the transaction of its write, so a key never exists without its
 * write. Rows older than 24 hours count as absent and are purged in small batches off the request path; the
 * `created_at` index serves both.
 */
export const up: Migration = async ({ context: { sql } }) => {
  await sql(`
    CREATE TABLE idempotency_keys (
      scope varchar(64) NOT NULL,
      key varchar(255) NOT NULL,
      request_hash char(64) NOT NULL,
      status smallint NOT NULL,
      body jsonb NOT NULL,
      location varchar(255),
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (scope, key)
    );
    CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);
  `);
};

export const down: Migration = async ({ context: { sql } }) => {
  await sql('DROP TABLE idempotency_keys;');
};
