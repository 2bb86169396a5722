import type { Migration } from '../migrator.js';

/**
 * Two-word searches without reading every name that holds both words. `lenovo ноутбук` on 1 000 000 products
 * matched 6 715 names: the page statement read them all from `product_words` (a GIN bitmap of two long posting lists,
 * then 5 466 heap pages) to rank each by its words' order and to count them, for 21 rows.
 *
 * Each name's vector now also holds a lexeme per ordered pair of its distinct letter words, `>a b` for `a` before
 * `b` (not necessarily adjacent). So "holds `a` then `b`" (rank 2 of a two-word query) and "holds `b` then `a`, not
 * `a` then `b`" (rank 3) are each one short posting list, a branch an index reads newest first, and the dictionary's
 * counts of the two pairs give the total (less the few names holding both orders). The leading `>` and the space
 * keep pairs out of every expansion of a query word: a query word is letters and digits, so no pair equals it, its
 * stem or transliteration, or starts with it; and pairs are not letter words, so typos never offer them. Letter
 * words only: codes and numbers (`fc09`, `24733`), nearly unique per name, would multiply the dictionary.
 */
const changed = (vector: string) => `
  CREATE OR REPLACE FUNCTION search_words_changed() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
      PERFORM search_words_count(array_agg(w), array_agg(-n)) FROM (
        SELECT w, count(*) AS n FROM removed JOIN product_words pw ON pw.id = removed.id, unnest(tsvector_to_array(pw.words)) AS w GROUP BY w) c
      HAVING count(*) > 0;
      DELETE FROM product_words pw USING removed WHERE pw.id = removed.id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
      INSERT INTO product_words (id, words, name_words)
        SELECT id, ${vector}, catalog_name_words(name) FROM added;
      PERFORM search_words_count(array_agg(w), array_agg(n)) FROM (
        SELECT w, count(*) AS n FROM added JOIN product_words pw ON pw.id = added.id, unnest(tsvector_to_array(pw.words)) AS w GROUP BY w) c
      HAVING count(*) > 0;
    END IF;
    RETURN NULL;
  END $$;`;

export const up: Migration = async ({ context: { sql } }) => {
  await sql(`
    CREATE FUNCTION catalog_word_pairs(words text[]) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN ARRAY(
      SELECT DISTINCT '>' || a.w || ' ' || b.w
      FROM unnest(words) WITH ORDINALITY AS a (w, i) JOIN unnest(words) WITH ORDINALITY AS b (w, j) ON a.i < b.j AND a.w <> b.w
      WHERE a.w ~ '^[[:alpha:]]+$' AND b.w ~ '^[[:alpha:]]+$');

    CREATE FUNCTION catalog_word_vector(words text[]) RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN array_to_tsvector(words || catalog_word_pairs(words));

    LOCK TABLE products IN SHARE ROW EXCLUSIVE MODE;
    ${changed('catalog_word_vector(catalog_words(name))')}

    -- A rewrite (the table and its indexes built anew), where an UPDATE would leave every row's old version behind.
    ALTER TABLE product_words ALTER COLUMN words TYPE tsvector USING catalog_word_vector(string_to_array(name_words, ' '));

    CREATE TEMPORARY TABLE pair_counts ON COMMIT DROP AS
      SELECT w, count(*) AS n FROM product_words, unnest(tsvector_to_array(words)) AS w WHERE w LIKE '>%' GROUP BY w;
    INSERT INTO search_words (word, stem, latin, letters)
      SELECT w, catalog_stem(w), catalog_latin(w), false FROM pair_counts ORDER BY w ON CONFLICT (word) DO NOTHING;
    INSERT INTO search_word_counts AS c (word, slot, n)
      SELECT w, 0, n FROM pair_counts ORDER BY w ON CONFLICT (word, slot) DO UPDATE SET n = c.n + excluded.n;
  `);
};

export const down: Migration = async ({ context: { sql } }) => {
  await sql(`
    LOCK TABLE products IN SHARE ROW EXCLUSIVE MODE;
    ${changed('array_to_tsvector(catalog_words(name))')}
    ALTER TABLE product_words ALTER COLUMN words TYPE tsvector USING array_to_tsvector(string_to_array(name_words, ' '));
    DELETE FROM search_words WHERE word LIKE '>%';
    DROP FUNCTION catalog_word_vector(text[]);
    DROP FUNCTION catalog_word_pairs(text[]);
  `);
};
