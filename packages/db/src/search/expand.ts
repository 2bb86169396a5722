/**
 * Search by words: one statement folds `q` and its layout twin into words (the database's own `catalog_words`, as
 * names are folded) and expands each word through the dictionary `search_words` into the words of names it may
 * match, each with its rank and its number of products. Only words some product holds come back.
 */
import { switchLayout } from '@tradeos/contract';
import type { Database, NamedStatement } from '../connection/database.js';
import { editDistance, typoEdits, type MatchRank, type QueryWords, type Term } from './words.js';

export interface Expansion {
  q: QueryWords;
  /** `q` typed in the other layout; null when switching changes nothing. */
  twin: QueryWords | null;
  /** Every product, from the maintained counts. */
  products: number;
}

// A prefix as a range of the text_pattern_ops indexes (bytewise order: every continuation sorts below U+10FFFF),
// which a nested loop can bind, where `LIKE w || '%'` would need a constant pattern to use an index.
const startsWith = (column: string, prefix: string) => `(${column} ~>=~ ${prefix} AND ${column} ~<~ (${prefix} || U&'\\+10FFFF'))`;

// The twin is searched as q is, word by word, every match ranked at least 5 (through the layout switch).
const EXPAND = `
  WITH input (src, words) AS (VALUES ('q', catalog_words($1::text)), ('t', catalog_words($2::text))),
  qw AS (
    SELECT src, i::int AS i, w, i = cardinality(words) AND char_length(w) >= 3 AS prefix, CASE WHEN src = 'q' THEN 1 ELSE 5 END AS least
    FROM input, unnest(words) WITH ORDINALITY AS u (w, i)),
  candidates AS (
    SELECT qw.src, qw.i, c.word, greatest(c.rank, qw.least) AS rank FROM qw CROSS JOIN LATERAL (
      SELECT s.word, 1 FROM search_words s WHERE s.word = qw.w
      UNION ALL SELECT s.word, 4 FROM search_words s WHERE s.stem = catalog_stem(qw.w)
      UNION ALL SELECT s.word, 4 FROM search_words s WHERE qw.prefix AND ${startsWith('s.word', 'qw.w')}
      UNION ALL SELECT s.word, 5 FROM search_words s WHERE s.latin = catalog_latin(qw.w)
      UNION ALL SELECT s.word, 5 FROM search_words s WHERE qw.prefix AND ${startsWith('s.latin', 'catalog_latin(qw.w)')}
      UNION ALL SELECT t.word, 6 FROM search_typo_candidates(qw.w, CASE WHEN char_length(qw.w) > 8 THEN 2 ELSE 1 END) AS t (word)
        WHERE char_length(qw.w) >= 5 AND qw.w ~ '^[[:alpha:]]+$'
    ) AS c (word, rank))
  SELECT qw.src, qw.i, qw.w, m.word, m.rank, m.n, (SELECT coalesce(sum(n), 0) FROM product_counts)::float8 AS products
  FROM qw LEFT JOIN LATERAL (
    SELECT c.word, min(c.rank)::int AS rank, (SELECT sum(k.n) FROM search_word_counts k WHERE k.word = c.word)::float8 AS n
    FROM candidates c WHERE c.src = qw.src AND c.i = qw.i GROUP BY c.word) m ON m.n > 0
  ORDER BY qw.src, qw.i, m.word`;

// Named: each connection parses and plans it once. Its plan does not depend on the words (every lookup is by index),
// and planning it took about 0.7 ms of a search's 4 (EXPLAIN ANALYZE on 1 000 000 products).
const STATEMENT: NamedStatement = { name: 'tradeos_search_expand', text: EXPAND };

interface Row {
  src: 'q' | 't';
  i: number;
  w: string;
  word: string | null;
  rank: MatchRank | null;
  n: number | null;
  products: number;
}

/** The rows of one source as positions; typo candidates kept only within the edits the word's length allows. */
function positions(rows: Row[], src: Row['src']): QueryWords | null {
  const mine = rows.filter((row) => row.src === src);
  if (!mine.length) return null;
  const words: string[] = [];
  const terms: Term[][] = [];
  for (const row of mine) {
    if (words.length < row.i) {
      words.push(row.w);
      terms.push([]);
    }
    if (row.word === null || row.rank === null || row.n === null) continue;
    if (row.rank === 6 && editDistance(row.w, row.word) > typoEdits(row.w)) continue;
    terms[row.i - 1]!.push({ word: row.word, rank: row.rank, n: row.n });
  }
  return { words, terms };
}

// The two ordered pairs of a two-word query as the database forms them (none unless both are letter words), with the
// dictionary's count of the names holding each: `catalog_word_pairs` decides, as it did for the names.
const PAIRS = `
  SELECT p.w AS pair, coalesce((SELECT sum(k.n) FROM search_word_counts k WHERE k.word = p.w), 0)::float8 AS n
  FROM unnest(catalog_word_pairs($1::text[]) || catalog_word_pairs($2::text[])) WITH ORDINALITY AS p (w, i) ORDER BY p.i`;
const PAIRS_STATEMENT: NamedStatement = { name: 'tradeos_search_pairs', text: PAIRS };

/** A query of two distinct letter words: its words' pairs (`>a b`, `>b a`) and how many names hold each. */
export interface Pairs {
  forward: string;
  backward: string;
  inOrder: number;
  reversed: number;
}

/** The pairs of `q`'s two words, or null when `q` is not two distinct letter words. */
export async function pairsOf(db: Database, q: QueryWords, signal?: AbortSignal): Promise<Pairs | null> {
  const [a, b] = q.words;
  if (q.words.length !== 2 || a === b) return null;
  const rows = await db.query<{ pair: string; n: number }>(PAIRS_STATEMENT, [[a, b], [b, a]], signal);
  const [forward, backward] = rows;
  if (rows.length !== 2 || !forward || !backward) return null;
  return { forward: forward.pair, backward: backward.pair, inOrder: forward.n, reversed: backward.n };
}

export async function expand(db: Database, q: string, signal?: AbortSignal): Promise<Expansion> {
  const twin = switchLayout(q);
  const rows = await db.query<Row>(STATEMENT, [q, twin === q ? null : twin], signal);
  return {
    q: positions(rows, 'q') ?? { words: [], terms: [] },
    twin: positions(rows, 't'),
    products: rows[0]?.products ?? 0,
  };
}
