/**
 * Search by substring (v1), relevance order, no other filter: the exact name (ignoring case), then names starting
 * with `q`, then the rest, each by name and id, with the exact total — without visiting every match. Each rank is a
 * branch read in its order by an index and stopped at the page's end (`ORDER BY name, id LIMIT n`), and the total
 * adds counts an index or a maintained count gives (migration 2026.12.06T22.00.00 says which serves which rank):
 * - names starting with a `q` without spaces are the names of the first words starting with `q`: each first word's
 *   names are one range of `product_search_first_word_idx` in name order, and `search_first_words` counts them;
 * - names starting with a `q` with spaces all have its first word: one range of `name_lower` (text_pattern_ops)
 *   holds exactly them, read and counted whole;
 * - the rest hold `q` after their first letter: `product_search_tail_trgm_idx` finds them.
 * Returns SQL for products.ts to compose (it adds the product columns); every value a bound parameter.
 */
import { escapeLike } from '../store/products.js';

type Bind = (value: unknown) => string;

export interface SubstringRanks {
  /** A `WITH` clause the other parts use, or ''. */
  with: string;
  /** The exact total as one SQL expression, or NULL when not counted. */
  total: string;
  /** The page's candidates as `(id, name, rank)`: each rank's first `n` rows, their union not yet ordered. */
  candidates: string;
}

/** The branch of one rank: its rows in name order up to `n`. */
const branch = (rank: number, from: string, where: string, n: string) =>
  `(SELECT s.id, s.name, ${rank} AS rank FROM ${from} WHERE ${where} ORDER BY s.name, s.id LIMIT ${n})`;

/**
 * The ranks' SQL for `q` (not yet lower-cased: PostgreSQL's `lower` folds it as it folded the names). `n` is the
 * bound number of rows the page needs from each rank (skip + limit); `counted` false leaves the total NULL.
 */
export function substringRanks(bind: Bind, q: string, n: string, counted: boolean): SubstringRanks {
  const lowered = `lower(${bind(q)})`;
  const prefix = `lower(${bind(`${escapeLike(q)}%`)})`;
  const inner = `lower(${bind(`%${escapeLike(q)}%`)})`;
  const rest = `substr(s.name_lower, 2) LIKE ${inner} AND s.name_lower NOT LIKE ${prefix}`;
  const exact = branch(0, 'product_search s', `s.name_lower = ${lowered}`, n);
  const later = branch(2, 'product_search s', rest, n);
  const restCount = `(SELECT count(*) FROM product_search s WHERE ${rest})`;
  if (q.includes(' ')) {
    const starting = branch(1, 'product_search s', `s.name_lower LIKE ${prefix} AND s.name_lower <> ${lowered}`, n);
    const startingCount = `(SELECT count(*) FROM product_search s WHERE s.name_lower LIKE ${prefix})`;
    return { with: '', total: counted ? `(${startingCount} + ${restCount})::int` : 'NULL::int', candidates: `${exact} UNION ALL ${starting} UNION ALL ${later}` };
  }
  // Each first word's own branch, then the first n of them all: a nested loop of index ranges, one per first word.
  const groups = `groups AS MATERIALIZED (SELECT word, sum(n) AS n FROM search_first_words WHERE word LIKE ${prefix} GROUP BY word HAVING sum(n) > 0)`;
  const perWord = `SELECT s.id, s.name FROM product_search s
      WHERE split_part(s.name_lower, ' ', 1) COLLATE "C" = g.word AND s.name_lower <> ${lowered} ORDER BY s.name, s.id LIMIT ${n}`;
  const starting = `(SELECT r.id, r.name, 1 AS rank FROM groups g CROSS JOIN LATERAL (${perWord}) r ORDER BY r.name, r.id LIMIT ${n})`;
  const startingCount = '(SELECT coalesce(sum(n), 0) FROM groups)';
  return { with: `WITH ${groups}`, total: counted ? `(${startingCount} + ${restCount})::int` : 'NULL::int', candidates: `${exact} UNION ALL ${starting} UNION ALL ${later}` };
}
