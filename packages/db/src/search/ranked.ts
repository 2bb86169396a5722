/**
 * Search by words (contract v1.3), ranked: each rank is one branch that an index reads newest first and stops at
 * the page's end (a UNION ALL of `ORDER BY id DESC LIMIT n` branches), never a ranking of every match. Imports the
 * store's filters and its list (for an explicit `sort_by`); the expansion of `q` comes from expand.ts.
 */
import { EXACT_COUNT_LIMIT, INT32_MAX, type PageOptions, type ProductFilters } from '@tradeos/contract';
import type { Database } from '../connection/database.js';
import { decodeCursor, encodeCursor, fingerprint } from '../store/cursor.js';
import { escapeLike, filterConditions, getProductsWithFilters, sql, type Conditions, type ProductPage, type ProductRow } from '../store/products.js';
import { expand, pairsOf, type Expansion, type Pairs } from './expand.js';
import { conjunction, either, termsUpTo, upperBound, type MatchRank } from './words.js';

/** A list filter only a words search sets: a tsquery over `product_words.words`. */
export interface WordsFilter {
  words?: string;
}

// A branch that may hold at most this many products is read through the words' index and sorted (`id + 0` keeps the
// planner off walking the primary key backwards through a million rows for a rare word); a larger one walks the key.
const BITMAP_ROWS = 5_000;

type Bind = (value: unknown) => string;

interface Branch {
  /** The rank of its rows as SQL over `s`: a number, or a CASE for the branch that holds ranks 1–3. */
  rank: (bind: Bind) => string;
  low: number;
  high: number;
  /** Conditions on `s`. */
  where: (bind: Bind) => string[];
  order: string;
}

interface Plan {
  branches: Branch[];
  /** Every match: the tsquery of the last rank. */
  all: string | null;
  /** The number of matches, when the dictionary knows it (a query of one word matching one name word). */
  known: number | null;
  /** At least this many products match (a query of one word: its most frequent name word; of two: its commoner pair). */
  least: number;
  /** A query of two letter words whose ranks 1–3 its word pairs serve. */
  pairs: Pairs | null;
}

const walkOrSort = (rows: number) => (rows > BITMAP_ROWS ? 's.id DESC' : 's.id + 0 DESC');
const constant = (rank: number) => () => String(rank);

/**
 * Ranks 1–3: the name equal to `q`, then every word exactly in `q`'s order, then in any order. For one word, the
 * equal names (btree on `name_words`), then the rest. For more, one read of the exact matches ordered by a CASE:
 * which names hold the words in order only the names tell, so a branch per rank could walk the whole key to find
 * none. That read visits every exact match anyway, so it also counts them (see `statement`). Two letter words are
 * the exception: the names' pair lexemes tell the order (`>a b`: `a` before `b`), each rank a branch of its own.
 */
function exactBranches(x: Expansion, exact: string, counts: Map<string, number>, pairs: Pairs | null): Branch[] {
  const name = x.q.words.join(' ');
  const ordered = [...new Set(x.q.words)];
  const matches = (bind: Bind) => `s.words @@ ${bind(exact)}::tsquery`;
  const equal: Branch = { rank: constant(1), low: 1, high: 1, where: (bind) => [`s.name_words = ${bind(name)}`], order: 's.id DESC' };
  if (ordered.length === 1) {
    return [equal, { rank: constant(2), low: 2, high: 2, where: (bind) => [matches(bind), `s.name_words <> ${bind(name)}`], order: walkOrSort(counts.get(ordered[0]!) ?? 0) }];
  }
  if (pairs) {
    const [forward, backward] = [conjunction([[pairs.forward]]), conjunction([[pairs.backward]])];
    return [
      equal,
      { rank: constant(2), low: 2, high: 2, where: (bind) => [`s.words @@ ${bind(forward)}::tsquery`, `s.name_words <> ${bind(name)}`], order: walkOrSort(pairs.inOrder) },
      { rank: constant(3), low: 3, high: 3, where: (bind) => [`s.words @@ ${bind(`${backward} & !${forward}`)}::tsquery`], order: walkOrSort(pairs.reversed) },
    ];
  }
  // Names hold single spaces between words; doubled, `% a % b %` also finds neighbours.
  const pattern = `%${ordered.map((word) => ` ${escapeLike(word)} `).join('%')}%`;
  const rank = (bind: Bind) => `CASE WHEN s.name_words = ${bind(name)} THEN 1 WHEN ' ' || replace(s.name_words, ' ', '  ') || ' ' LIKE ${bind(pattern)} THEN 2 ELSE 3 END`;
  return [{ rank, low: 1, high: 3, where: (bind) => [matches(bind)], order: '2, s.id DESC' }];
}

/** The branch of one rank of 4–6: matched at that rank, not at the one before. */
function laterBranch(rank: 4 | 5 | 6, previous: string | null, current: string, rows: number): Branch {
  const query = previous === null ? current : `(${current}) & !(${previous})`;
  return { rank: constant(rank), low: rank, high: rank, where: (bind) => [`s.words @@ ${bind(query)}::tsquery`], order: walkOrSort(rows) };
}

function plan(x: Expansion, pairs: Pairs | null): Plan {
  const counts = new Map<string, number>();
  for (const terms of [...x.q.terms, ...(x.twin?.terms ?? [])]) for (const term of terms) counts.set(term.word, term.n);
  const sum = (words: string[]) => words.reduce((total, word) => total + (counts.get(word) ?? 0), 0);
  const twins = new Map([5, 6].map((rank) => [rank, x.twin && termsUpTo(x.twin, rank as MatchRank)]));
  const twin = twins.get(6) ?? null;
  const byRank = new Map<3 | 4 | 5 | 6, string[][] | null>([3, 4, 5, 6].map((rank) => [rank as 3 | 4 | 5 | 6, termsUpTo(x.q, rank === 3 ? 1 : (rank as MatchRank))]));
  const text = (rank: 3 | 4 | 5 | 6) => {
    const own = byRank.get(rank);
    const switched = rank >= 5 ? twins.get(rank) : null;
    return either(own ? conjunction(own) : null, switched ? conjunction(switched) : null);
  };
  const exact = text(3);
  const branches = exact ? exactBranches(x, exact, counts, pairs) : [];
  for (const rank of [4, 5, 6] as const) {
    const previous = text((rank - 1) as 3 | 4 | 5);
    const current = text(rank);
    if (current === null || current === previous) continue;
    // At most the products holding a word this rank adds (or, at 5, all the twin's matches).
    const fresh = (byRank.get(rank) ?? []).map((words, i) => words.filter((word) => !byRank.get((rank - 1) as 3 | 4 | 5)?.[i]?.includes(word)));
    const rows = Math.min(sum(fresh.flat()), upperBound(byRank.get(rank) ?? null, counts)) + (rank >= 5 ? upperBound(twins.get(rank) ?? null, counts) : 0);
    branches.push(laterBranch(rank, previous, current, rows));
  }
  const sources = [byRank.get(6), twin].filter((positions): positions is string[][] => !!positions);
  const single = sources.length === 1 && sources[0]!.length === 1 ? sources[0]![0]! : null;
  return {
    branches,
    all: text(6),
    known: single?.length === 1 ? (counts.get(single[0]!) ?? 0) : null,
    // Every name holding either pair of two words matches.
    least: single ? Math.max(...single.map((word) => counts.get(word) ?? 0)) : exact && pairs ? Math.max(pairs.inOrder, pairs.reversed) : 0,
    pairs: exact ? pairs : null,
  };
}

type Counting = NonNullable<PageOptions['count']>;
type Found = ProductRow & { total: number | null; rank: number | null };
/**
 * How the statement counts: not at all, the dictionary's count, the dictionary's counts of two pairs less the names
 * holding both, within the one branch's read, or a count capped past EXACT_COUNT_LIMIT or not.
 */
type Total = { none: true } | { known: number } | { pairs: Pairs } | { windowed: true } | { capped: boolean };

/** The statement's parts shared by the page and its count: the filters' conditions and what to read. */
function base(db: Database, filters: ProductFilters): { where: Conditions; from: string; conditions: string[]; joined: boolean } {
  const where = filterConditions(db, filters);
  const joined = Object.values(filters).some((value) => value !== undefined);
  const from = joined ? `product_words s JOIN products p ON ${sql(db).column('id')} = s.id` : 'product_words s';
  return { where, from, conditions: where.where ? [where.where.replace(/^WHERE /, '')] : [], joined };
}

function totalSql(total: Total, all: string, parts: ReturnType<typeof base>): string {
  if ('none' in total) return 'SELECT NULL::int AS total';
  if ('known' in total) return `SELECT ${parts.where.bind(total.known)}::int AS total`;
  if ('pairs' in total) {
    const { forward, backward, inOrder, reversed } = total.pairs;
    const both = `SELECT count(*) FROM product_words s WHERE s.words @@ ${parts.where.bind(`${conjunction([[forward]])} & ${conjunction([[backward]])}`)}::tsquery`;
    return `SELECT (${parts.where.bind(inOrder + reversed)}::int - (${both}))::int AS total`;
  }
  if ('windowed' in total) return 'SELECT coalesce(max(w.total), 0)::int AS total FROM w';
  const matches = `SELECT FROM ${parts.from} WHERE ${[...parts.conditions, `s.words @@ ${parts.where.bind(all)}::tsquery`].join(' AND ')}`;
  return total.capped ? `SELECT count(*)::int AS total FROM (${matches} LIMIT ${EXACT_COUNT_LIMIT + 1}) capped` : `SELECT count(*)::int AS total FROM (${matches}) matched`;
}

/**
 * The page and its total in one statement (one snapshot). After a cursor's row (rank, id), the branches of earlier
 * ranks are dropped and its own rank continues below its id. A windowed total is counted by the only branch, over
 * every row it reads before its LIMIT.
 */
function statement(db: Database, plan: Plan, all: string, filters: ProductFilters, options: PageOptions, total: Total, after?: number[]): { text: string; binds: unknown[] } {
  const { columns, column } = sql(db);
  const parts = base(db, filters);
  const bind = (value: unknown) => parts.where.bind(value);
  const n = bind(options.skip + options.limit);
  const [afterRank, afterId] = after ?? [];
  const windowed = 'windowed' in total;
  const branches = plan.branches
    .filter((branch) => afterRank === undefined || branch.high >= afterRank)
    .map((branch) => {
      const conditions = [...parts.conditions, ...branch.where(bind)];
      if (afterRank !== undefined && branch.low <= afterRank) {
        const below = `s.id < ${bind(afterId)}`;
        conditions.push(branch.low === branch.high ? below : `(${branch.rank(bind)} > ${bind(afterRank)} OR ${below})`);
      }
      const counted = windowed ? ', count(*) OVER () AS total' : '';
      return `(SELECT s.id, ${branch.rank(bind)} AS rank${counted} FROM ${parts.from} WHERE ${conditions.join(' AND ')} ORDER BY ${branch.order} LIMIT ${n})`;
    });
  const union = branches.length ? branches.join(' UNION ALL ') : 'SELECT NULL::int AS id, NULL::int AS rank WHERE false';
  const text = `${windowed ? `WITH w AS MATERIALIZED ${branches[0]!} ` : ''}SELECT t.total, m.rank, ${columns}, c.name AS category_name
    FROM (${totalSql(total, all, parts)}) t
    LEFT JOIN (SELECT b.id, b.rank FROM (${windowed ? 'SELECT id, rank FROM w' : union}) b ORDER BY b.rank, b.id DESC LIMIT ${bind(options.limit)} OFFSET ${bind(options.skip)}) m ON true
    LEFT JOIN products p ON ${column('id')} = m.id
    LEFT JOIN categories c ON c.id = ${column('category_id')}
    ORDER BY m.rank, m.id DESC`;
  return { text, binds: parts.where.binds };
}

/** Past EXACT_COUNT_LIMIT matches, the planner's estimate of them (never below what was counted). */
async function estimate(db: Database, all: string, filters: ProductFilters, counted: number, signal?: AbortSignal): Promise<number> {
  const parts = base(db, filters);
  const conditions = [...parts.conditions, `s.words @@ ${parts.where.bind(all)}::tsquery`];
  const [plan] = await db.query<{ 'QUERY PLAN': [{ Plan: { 'Plan Rows': number } }] }>(`EXPLAIN (FORMAT JSON) SELECT FROM ${parts.from} WHERE ${conditions.join(' AND ')}`, parts.where.binds, signal);
  return Math.min(Math.max(Math.round(plan?.['QUERY PLAN'][0].Plan['Plan Rows'] ?? 0), counted), INT32_MAX);
}

/** How to count: the dictionary when it knows, the one branch's read when it holds every match, else a count. */
function totalOf(plan: Plan, count: Counting, filters: ProductFilters, after: unknown): Total {
  const filtered = Object.values(filters).some((value) => value !== undefined);
  if (count === 'none') return { none: true };
  // More matches than an estimate counts exactly, for certain: the planner's estimate follows, without a count.
  if (count === 'estimated' && plan.least > EXACT_COUNT_LIMIT && !filtered) return { none: true };
  if (plan.known !== null && !filtered) return { known: plan.known };
  // Ranks 1–3 from the pairs, and no later rank: every match holds one of the two pairs.
  if (plan.pairs && !filtered && plan.branches.every((branch) => branch.high <= 3)) return { pairs: plan.pairs };
  if (plan.branches.length === 1 && plan.branches[0]!.high > plan.branches[0]!.low && after === undefined) return { windowed: true };
  return { capped: count === 'estimated' };
}

/**
 * Contract v1.3: the products whose names hold every word of `q` (or of its layout twin), by rank and newest first,
 * or in `sort_by` order; `count` defaults to estimated. A page carries its cursor: the last row's rank and id.
 */
export async function searchWords(db: Database, q: string, filters: ProductFilters, options: PageOptions, signal?: AbortSignal): Promise<ProductPage> {
  const count = options.count ?? 'estimated';
  const print = fingerprint([q, filters, 'words']);
  const after = options.cursor === undefined || options.sortBy ? undefined : (decodeCursor(options.cursor, print, ['integer', 'integer']) as number[]);
  const expansion = await expand(db, q, signal);
  // The pairs serve the ranked order without other filters (with them, one read of the exact matches, as before).
  const unfiltered = !options.sortBy && Object.values(filters).every((value) => value === undefined);
  const found = plan(expansion, unfiltered && termsUpTo(expansion.q, 1) ? await pairsOf(db, expansion.q, signal) : null);
  if (found.all === null) return { rows: [], total: count === 'none' ? null : 0, nextCursor: null };
  if (options.sortBy) return getProductsWithFilters(db, { ...filters, words: found.all }, { ...options, count }, signal);
  const total = totalOf(found, count, filters, after);
  const { text, binds } = statement(db, found, found.all, filters, { ...options, limit: options.limit + 1 }, total, after);
  const rows = await db.query<Found>(text, binds, signal);
  const matched = rows.filter((row) => row.id !== null);
  const page = matched.slice(0, options.limit).map(({ total: _total, rank: _rank, ...row }) => row as ProductRow);
  const last = matched[options.limit - 1];
  const nextCursor = matched.length > options.limit && last ? encodeCursor(print, [last.rank!, last.id]) : null;
  const counted = rows[0]?.total ?? null;
  // Past EXACT_COUNT_LIMIT, `estimated` answers the planner's estimate as v1.2 does, however the matches were counted.
  const estimating = count === 'estimated' && ('none' in total || (counted ?? 0) > EXACT_COUNT_LIMIT);
  if (!estimating) return { rows: page, total: counted, nextCursor };
  const least = Math.max(counted ?? 0, found.least, EXACT_COUNT_LIMIT + 1);
  return { rows: page, total: await estimate(db, found.all, filters, least, signal), estimated: true, nextCursor };
}
