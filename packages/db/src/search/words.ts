/**
 * Search by words (contract v1.3): the query words and their expansions into dictionary words, and the tsquery
 * text built from them. Pure functions; the statements live in expand.ts and ranked.ts. Imports nothing of the db.
 */

/**
 * How a dictionary word matches a word of `q`, as the contract ranks it: 1 the same word (ignoring case, `ё` and
 * diacritics), 4 another form or a prefix, 5 through the layout switch or transliteration, 6 through typos.
 */
export type MatchRank = 1 | 4 | 5 | 6;

export interface Term {
  word: string;
  rank: MatchRank;
  /** How many products hold the word. */
  n: number;
}

/** One query, `q` or its layout twin: its folded words and, for each, the dictionary words it matches. */
export interface QueryWords {
  words: string[];
  terms: Term[][];
}

/** Edits allowed for a typo in a word of `q`, by its length: none under 5 letters, 1 for 5–8, 2 for longer. */
export function typoEdits(word: string): number {
  const length = [...word].length;
  if (length < 5) return 0;
  return length <= 8 ? 1 : 2;
}

/** Optimal string alignment distance: inserts, deletes, substitutions and swaps of neighbours, each one edit. */
export function editDistance(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  let before: number[] = [];
  let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= y.length; j += 1) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      let best = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) best = Math.min(best, before[j - 2]! + 1);
      current.push(best);
    }
    before = previous;
    previous = current;
  }
  return previous[y.length]!;
}

/** A word as a tsquery lexeme: quoted, so the text is taken as it is (words hold letters and digits only anyway). */
const lexeme = (word: string) => `'${word.replace(/[\\']/g, (char) => `\\${char}`)}'`;

/** The words of each position whose rank is at most `rank`; null when a position has none. */
export function termsUpTo(query: QueryWords, rank: MatchRank): string[][] | null {
  const chosen = query.terms.map((terms) => terms.filter((term) => term.rank <= rank).map((term) => term.word).sort());
  return chosen.length && chosen.every((words) => words.length) ? chosen : null;
}

/** `(a | b) & c`: every position matched by one of its words. */
export function conjunction(positions: string[][]): string {
  return positions.map((words) => (words.length === 1 ? lexeme(words[0]!) : `(${words.map(lexeme).join(' | ')})`)).join(' & ');
}

/** Either query (`q` or the twin), or null when neither can match. */
export function either(first: string | null, second: string | null): string | null {
  if (first === null || second === null) return first ?? second;
  return first === second ? first : `(${first}) | (${second})`;
}

/**
 * An upper bound of the products matching `positions` (each product counts once per word it holds): the smallest
 * of the positions' sums. `counts` gives each word's number of products.
 */
export function upperBound(positions: string[][] | null, counts: Map<string, number>): number {
  if (!positions) return 0;
  return Math.min(...positions.map((words) => words.reduce((sum, word) => sum + (counts.get(word) ?? 0), 0)));
}
