import type { Migration } from '../migrator.js';

/**
 * Relevance search by substring (v1) without visiting every match (search/substring.ts). Its order is the exact name,
 * then names starting with `q`, then the rest, each by name; its total is exact. On 1 000 000 products `ноутбук`
 * matched 100 261 names, all at their start: the statement read them all (a bitmap heap scan of the whole
 * `product_search`, 12 400 pages), counted them in a window that spilled to disk, and sorted them for 21 rows.
 *
 * Each rank now has what serves it, on `product_search`:
 * - the exact name: a btree on `name_lower` (text_pattern_ops, so it also serves `LIKE 'q%'` as a range in any
 *   collation);
 * - names starting with `q`: a name starts with a `q` without spaces exactly when its first word (up to the first
 *   space) does, so the names of each first word, in name order, are one range of a btree on (first word, name, id),
 *   read up to the page's end; `search_first_words` counts the names of each first word (one counter row per word and
 *   writer's slot, as `product_counts`), so their number is a sum over the few first words starting with `q`;
 * - the rest, names holding `q` after their first letter: a trigram index on the name without its first letter,
 *   which does not offer the names that hold `q` only at their start (the full name's trigram index offers every
 *   `ноутбук…` for `%ноутбук%`).
 * Statement triggers on `product_search` keep the counts, as they keep the words of search by words.
 */
export const up: Migration = async ({ context: { sql } }) => {
  await sql(`
    LOCK TABLE products IN SHARE ROW EXCLUSIVE MODE;
    LOCK TABLE product_search IN SHARE ROW EXCLUSIVE MODE;

    CREATE INDEX product_search_name_lower_prefix_idx ON product_search (name_lower text_pattern_ops);
    CREATE INDEX product_search_first_word_idx ON product_search ((split_part(name_lower, ' ', 1) COLLATE "C"), name, id);
    CREATE INDEX product_search_tail_trgm_idx ON product_search USING gin (substr(name_lower, 2) gin_trgm_ops) WITH (gin_pending_list_limit = 64);

    -- Bytewise ("C"), so LIKE 'q%' is a range of the primary key whatever the database's collation.
    CREATE TABLE search_first_words (
      word text COLLATE "C" NOT NULL,
      slot smallint NOT NULL,
      n integer NOT NULL,
      PRIMARY KEY (word, slot)
    );
    INSERT INTO search_first_words (word, slot, n)
      SELECT split_part(name_lower, ' ', 1), 0, count(*) FROM product_search GROUP BY 1;

    -- Adds each first word's change of count in the transaction's counter slot, words in order (no deadlock).
    CREATE FUNCTION search_first_words_count(words text[], deltas bigint[]) RETURNS void LANGUAGE sql AS $$
      INSERT INTO search_first_words AS c (word, slot, n)
        SELECT change.w, (SELECT product_counts_slot()), change.delta
        FROM unnest(words, deltas) AS change (w, delta) WHERE change.delta <> 0 ORDER BY change.w
      ON CONFLICT (word, slot) DO UPDATE SET n = c.n + excluded.n;
    $$;

    -- A rename is the old first words out, the new ones in.
    CREATE FUNCTION search_first_words_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP IN ('DELETE', 'UPDATE') THEN
        PERFORM search_first_words_count(array_agg(w), array_agg(-n)) FROM (
          SELECT split_part(name_lower, ' ', 1) COLLATE "C" AS w, count(*) AS n FROM removed GROUP BY 1) c
        HAVING count(*) > 0;
      END IF;
      IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM search_first_words_count(array_agg(w), array_agg(n)) FROM (
          SELECT split_part(name_lower, ' ', 1) COLLATE "C" AS w, count(*) AS n FROM added GROUP BY 1) c
        HAVING count(*) > 0;
      END IF;
      RETURN NULL;
    END $$;

    CREATE FUNCTION search_first_words_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      TRUNCATE search_first_words;
      RETURN NULL;
    END $$;

    CREATE TRIGGER search_first_words_inserted AFTER INSERT ON product_search
      REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION search_first_words_changed();
    CREATE TRIGGER search_first_words_deleted AFTER DELETE ON product_search
      REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION search_first_words_changed();
    CREATE TRIGGER search_first_words_renamed AFTER UPDATE ON product_search
      REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION search_first_words_changed();
    CREATE TRIGGER search_first_words_truncated AFTER TRUNCATE ON product_search
      FOR EACH STATEMENT EXECUTE FUNCTION search_first_words_truncated();
  `);
};

export const down: Migration = async ({ context: { sql } }) => {
  await sql(`
    DROP TRIGGER search_first_words_truncated ON product_search;
    DROP TRIGGER search_first_words_renamed ON product_search;
    DROP TRIGGER search_first_words_deleted ON product_search;
    DROP TRIGGER search_first_words_inserted ON product_search;
    DROP FUNCTION search_first_words_truncated();
    DROP FUNCTION search_first_words_changed();
    DROP FUNCTION search_first_words_count(text[], bigint[]);
    DROP TABLE search_first_words;
    DROP INDEX product_search_tail_trgm_idx;
    DROP INDEX product_search_first_word_idx;
    DROP INDEX product_search_name_lower_prefix_idx;
  `);
};
