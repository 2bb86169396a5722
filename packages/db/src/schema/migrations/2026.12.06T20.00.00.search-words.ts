import type { Migration } from '../migrator.js';

/**
 * Contract v1.3, search by words. Every name's words, folded (lower case, `ё`→`е`, Latin diacritics off, `й` kept,
 * apostrophes deleted, anything but a letter or digit a separator), are kept in `product_words`, one row per
 * product: as a tsvector under a GIN index (`words`), and as one space-separated text (`name_words`, btree) for the
 * ranks that compare the whole name or the words' order. A table of its own, so `product_search` stays the narrow
 * copy the substring search scans. A dictionary of the distinct words (`search_words`: each word's Snowball stem, its
 * passport transliteration, whether it is letters only) answers every expansion of a query word (forms,
 * transliteration, prefixes, typo candidates) through its indexes; `search_word_counts` keeps how many products hold
 * each word, one counter row per word and counter slot (the transaction's slot of `product_counts`, so concurrent
 * writers never wait on each other's counters). Statement triggers on `product_search` keep all three. A word whose
 * count falls to 0 stays in the dictionary, counted 0: searches skip it.
 */

const EXTENSIONS_HINT =
  'Search by words needs the PostgreSQL extensions unaccent, fuzzystrmatch and pg_trgm (shipped with PostgreSQL, package postgresql-contrib on older distributions). Have a superuser or the database owner run CREATE EXTENSION unaccent; CREATE EXTENSION fuzzystrmatch; in this database, then migrate again.';

// The dictionaries' and unaccent's schema is the one the migration runs in: each function names it, so the
// functions do not depend on a caller's search_path.
const functions = `
  DO $do$
  DECLARE
    here text := quote_ident(current_schema());
    accents text := (SELECT quote_ident(extnamespace::regnamespace::text) FROM pg_extension WHERE extname = 'unaccent');
  BEGIN
    -- й is not an accented и: it is kept through unaccent (a private-use character stands in for it).
    EXECUTE format($f$
      CREATE FUNCTION catalog_fold(t text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
      RETURN replace(%1$s.unaccent(%2$L::regdictionary, replace(translate(lower(t), 'ё''’', 'е'), 'й', U&'\\E000')), U&'\\E000', 'й')
    $f$, accents, accents || '.unaccent');
    EXECUTE format($f$
      CREATE FUNCTION catalog_stem(w text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
      RETURN CASE
        WHEN w ~ '[а-яё]' THEN coalesce((ts_lexize(%1$L::regdictionary, w))[1], w)
        WHEN w ~ '[a-z]' THEN coalesce((ts_lexize(%2$L::regdictionary, w))[1], w)
        ELSE w END
    $f$, here || '.catalog_russian_stem', here || '.catalog_english_stem');
  END $do$;

  CREATE FUNCTION catalog_words(t text) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
  RETURN array_remove(regexp_split_to_array(catalog_fold(t), '[^[:alnum:]]+'), '');

  -- The words as one text, one space between them (array_to_string is only STABLE, for the general array case).
  CREATE FUNCTION catalog_name_words(t text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
  RETURN array_to_string(catalog_words(t), ' ');

  -- Cyrillic as passports write it in Latin letters (ъ and ь dropped); other characters stay.
  CREATE FUNCTION catalog_latin(w text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
  RETURN translate(
    replace(replace(replace(replace(replace(replace(replace(replace(w, 'щ', 'shch'), 'ж', 'zh'), 'х', 'kh'), 'ц', 'ts'), 'ч', 'ch'), 'ш', 'sh'), 'ю', 'iu'), 'я', 'ia'),
    'абвгдеёзийклмнопрстуфыэъь', 'abvgdeeziiklmnoprstufye');
`;

export const up: Migration = async ({ context: { sql } }) => {
  await sql(`
    DO $$
    BEGIN
      CREATE EXTENSION IF NOT EXISTS unaccent;
      CREATE EXTENSION IF NOT EXISTS fuzzystrmatch;
    EXCEPTION WHEN insufficient_privilege OR undefined_file OR feature_not_supported OR undefined_object THEN
      RAISE EXCEPTION 'cannot create the extensions of search by words: %', SQLERRM USING HINT = '${EXTENSIONS_HINT}';
    END $$;

    CREATE TEXT SEARCH DICTIONARY catalog_russian_stem (TEMPLATE = snowball, Language = russian);
    CREATE TEXT SEARCH DICTIONARY catalog_english_stem (TEMPLATE = snowball, Language = english);
    ${functions}

    LOCK TABLE products IN SHARE ROW EXCLUSIVE MODE;
    CREATE TABLE product_words (
      id integer PRIMARY KEY,
      words tsvector NOT NULL,
      name_words text NOT NULL
    );
    INSERT INTO product_words (id, words, name_words)
      SELECT id, array_to_tsvector(catalog_words(name)), catalog_name_words(name) FROM product_search;
    CREATE INDEX product_words_words_idx ON product_words USING gin (words) WITH (fastupdate = off);
    CREATE INDEX product_words_name_words_idx ON product_words (name_words, id);

    CREATE TABLE search_words (
      word text PRIMARY KEY CHECK (word <> ''),
      stem text NOT NULL,
      latin text NOT NULL,
      letters boolean NOT NULL
    );
    CREATE INDEX search_words_word_prefix_idx ON search_words (word text_pattern_ops);
    CREATE INDEX search_words_stem_idx ON search_words (stem);
    CREATE INDEX search_words_latin_idx ON search_words (latin text_pattern_ops);
    -- Typo candidates are letter words only: a trigram index over codes and numbers would offer thousands.
    CREATE INDEX search_words_typo_idx ON search_words USING gin (word gin_trgm_ops) WHERE letters;

    CREATE TABLE search_word_counts (
      word text NOT NULL REFERENCES search_words ON DELETE CASCADE,
      slot smallint NOT NULL,
      n integer NOT NULL,
      PRIMARY KEY (word, slot)
    );

    INSERT INTO search_words (word, stem, latin, letters)
      SELECT w, catalog_stem(w), catalog_latin(w), w ~ '^[[:alpha:]]+$'
      FROM (SELECT DISTINCT unnest(tsvector_to_array(words)) AS w FROM product_words) d;
    INSERT INTO search_word_counts (word, slot, n)
      SELECT w, 0, count(*) FROM product_words, unnest(tsvector_to_array(words)) AS w GROUP BY w;

    -- Adds each word's change of count in the transaction's counter slot, words in order (no deadlock between writers).
    CREATE FUNCTION search_words_count(words text[], deltas bigint[]) RETURNS void LANGUAGE sql AS $$
      INSERT INTO search_words (word, stem, latin, letters)
        SELECT change.w, catalog_stem(change.w), catalog_latin(change.w), change.w ~ '^[[:alpha:]]+$'
        FROM unnest(words, deltas) AS change (w, delta) WHERE change.delta > 0 ORDER BY change.w
      ON CONFLICT (word) DO NOTHING;
      INSERT INTO search_word_counts AS c (word, slot, n)
        SELECT change.w, (SELECT product_counts_slot()), change.delta
        FROM unnest(words, deltas) AS change (w, delta) WHERE change.delta <> 0 ORDER BY change.w
      ON CONFLICT (word, slot) DO UPDATE SET n = c.n + excluded.n;
    $$;

    -- A rename is the old words out, the new words in.
    CREATE FUNCTION search_words_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP IN ('DELETE', 'UPDATE') THEN
        PERFORM search_words_count(array_agg(w), array_agg(-n)) FROM (
          SELECT w, count(*) AS n FROM removed JOIN product_words pw ON pw.id = removed.id, unnest(tsvector_to_array(pw.words)) AS w GROUP BY w) c
        HAVING count(*) > 0;
        DELETE FROM product_words pw USING removed WHERE pw.id = removed.id;
      END IF;
      IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO product_words (id, words, name_words)
          SELECT id, array_to_tsvector(catalog_words(name)), catalog_name_words(name) FROM added;
        PERFORM search_words_count(array_agg(w), array_agg(n)) FROM (
          SELECT w, count(*) AS n FROM added JOIN product_words pw ON pw.id = added.id, unnest(tsvector_to_array(pw.words)) AS w GROUP BY w) c
        HAVING count(*) > 0;
      END IF;
      RETURN NULL;
    END $$;

    CREATE FUNCTION search_words_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      TRUNCATE product_words, search_word_counts, search_words;
      RETURN NULL;
    END $$;

    CREATE TRIGGER search_words_inserted AFTER INSERT ON product_search
      REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION search_words_changed();
    CREATE TRIGGER search_words_deleted AFTER DELETE ON product_search
      REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION search_words_changed();
    CREATE TRIGGER search_words_renamed AFTER UPDATE ON product_search
      REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION search_words_changed();
    CREATE TRIGGER search_words_truncated AFTER TRUNCATE ON product_search
      FOR EACH STATEMENT EXECUTE FUNCTION search_words_truncated();

    -- Letter words within a few edits of w: those sharing trigrams (similarity ≥ 0.1 keeps every word within two
    -- edits of one of 5+ letters), of a length within k, and within 2k Levenshtein edits (a swap of neighbours is
    -- two of those); the caller keeps those within k edits, swaps counting one. PL/pgSQL keeps the plan.
    CREATE FUNCTION search_typo_candidates(w text, k integer) RETURNS SETOF text LANGUAGE plpgsql STABLE
      SET pg_trgm.similarity_threshold = 0.1 AS $$
    BEGIN
      RETURN QUERY SELECT s.word FROM search_words s
        WHERE s.letters AND s.word % w AND abs(char_length(s.word) - char_length(w)) <= k
          AND levenshtein_less_equal(s.word, w, 2 * k) <= 2 * k;
    END $$;
  `);
};

export const down: Migration = async ({ context: { sql } }) => {
  await sql(`
    DROP FUNCTION search_typo_candidates(text, integer);
    DROP TRIGGER search_words_truncated ON product_search;
    DROP TRIGGER search_words_renamed ON product_search;
    DROP TRIGGER search_words_deleted ON product_search;
    DROP TRIGGER search_words_inserted ON product_search;
    DROP FUNCTION search_words_truncated();
    DROP FUNCTION search_words_changed();
    DROP FUNCTION search_words_count(text[], bigint[]);
    DROP TABLE search_word_counts;
    DROP TABLE search_words;
    DROP TABLE product_words;
    DROP FUNCTION catalog_latin(text);
    DROP FUNCTION catalog_name_words(text);
    DROP FUNCTION catalog_words(text);
    DROP FUNCTION catalog_stem(text);
    DROP FUNCTION catalog_fold(text);
    DROP TEXT SEARCH DICTIONARY catalog_english_stem;
    DROP TEXT SEARCH DICTIONARY catalog_russian_stem;
    DROP EXTENSION IF EXISTS fuzzystrmatch;
    DROP EXTENSION IF EXISTS unaccent;
  `);
};
