/**
 * Search by words (contract v1.3), ranked: each rank is one branch that an index reads newest first and stops at
 * the page's end (a UNION ALL of `ORDER BY id DESC LIMIT n` branches), never a ranking of every match. Imports the
 * store's filters and its list (for an explicit `sort_by`); the expansion of `q` comes from expand.ts.
 */
import { EXACT_COUNT_LIMIT, INT32_MAX, type PageOptions, type ProductFilters } from '@tradeos/contract';
import type { Database } from '../connection/database.js';
import { decodeCursor, encodeCursor, fingerprint } from '../store/cursor.js';
import { Conditions, escapeLike, filterConditions, getProductsWithFilters, sql, type ProductPage, type ProductRow } from '../store/products.js';
import { expand, type Expansion } from './expand.js';
import { conjunction, either, termsUpTo, upperBound, type MatchRank } from './words.js';

/** A list filter only a words search sets: a tsquery over `product_search.words`. */
export interface WordsFilter {
  words?: string;
}

// A branch that may hold at most this many products is read through the words' index and sorted (`id + 0` keeps the
// planner off walking the primary key backwards through a million rows for a rare word); a larger one walks the key.
const BITMAP_ROWS = 5_000;

type Bind = (value: unknown) => string;

interface Branch {
  /** The rank of its rows as SQL over `s`: a number, or a CASE for the branch that holds ranks 2 and 3. */
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
}

const walkOrSort = (rows: number) => (rows > BITMAP_ROWS ? 's.id DESC' : 's.id + 0 DESC');
const constant = (rank: number) => () => String(rank);

/**
 * Ranks 1–3: the name equal to `q` (btree on `name_words`), then every word exactly in `q`'s order, then in any
 * order. The last two share one read of the exact matches, ordered by a CASE: which names hold the words in order
 * only the names tell, so a branch of its own could walk the whole key to find none.
 */
function exactBranches(x: Expansion, exact: string, counts: Map<string, number>): Branch[] {
  const name = x.q.words.join(' ');
  const ordered = [...new Set(x.q.words)];
  const first: Branch = { rank: constant(1), low: 1, high: 1, where: (bind) => [`s.name_words = ${bind(name)}`], order: 's.id DESC' };
  const where = (bind: Bind) => [`s.words @@ ${bind(exact)}::tsquery`, `s.name_words <> ${bind(name)}`];
  if (ordered.length === 1) return [first, { rank: constant(2), low: 2, high: 2, where, order: walkOrSort(counts.get(ordered[0]!) ?? 0) }];
  // Names hold single spaces between words; doubled, `% a % b %` also finds neighbours.
  const pattern = `%${ordered.map((word) => ` ${escapeLike(word)} `).join('%')}%`;
  const rank = (bind: Bind) => `CASE WHEN ' ' || replace(s.name_words, ' ', '  ') || ' ' LIKE ${bind(pattern)} THEN 2 ELSE 3 END`;
  return [first, { rank, low: 2, high: 3, where, order: '2, s.id DESC' }];
}

function plan(x: Expansion): Plan {
  const counts = new Map<string, number>();
  for (const terms of [...x.q.terms, ...(x.twin?.terms ?? [])]) for (const term of terms) counts.set(term.word, term.n);
  const twin = x.twin && termsUpTo(x.twin, 5);
  const byRank = new Map<MatchRank | 3, string[][] | null>([1, 4, 5, 6].map((rank) => [rank === 1 ? 3 : (rank as MatchRank), termsUpTo(x.q, rank as MatchRank)]));
  const text = (rank: 3 | 4 | 5 | 6) => {
    const own = byRank.get(rank);
    return either(own ? conjunction(own) : null, rank >= 5 && twin ? conjunction(twin) : null);
  };
  const exact = text(3);
  const branches = exact ? exactBranches(x, exact, counts) : [];
  for (const rank of [4, 5, 6] as const) {
    const previous = text((rank - 1) as 3 | 4 | 5);
    const current = text(rank);
    if (current === null || current === previous) continue;
    const fresh = (byRank.get(rank) ?? []).map((words, i) => words.filter((word) => !byRank.get((rank - 1) as 3 | 4 | 5)?.[i]?.includes(word)));
    const rows = Math.min(fresh.flat().reduce((sum, word) => sum + (counts.get(word) ?? 0), 0), upperBound(byRank.get(rank) ?? null, counts)) + (rank === 5 ? upperBound(twin, counts) : 0);
    const query = previous === null ? current : `(${current}) & !(${previous})`;
    branches.push({ rank: constant(rank), low: rank, high: rank, where: (bind) => [`s.words @@ ${bind(query)}::tsquery`], order: walkOrSort(rows) });
  }
  const all = text(6);
  const last = byRank.get(6);
  const known = !twin && last?.length === 1 && last[0]!.length === 1 ? (counts.get(last[0]![0]!) ?? 0) : null;
  return { branches, all, known };
}

type Counting = NonNullable<PageOptions['count']>;
type Found = ProductRow & { total: number | null; rank: number | null };

/** The statement's parts shared by the page and its count: the filters' conditions and what to read. */
function base(db: Database, filters: ProductFilters): { where: Conditions; from: string; conditions: string[]; joined: boolean } {
  const where = filterConditions(db, filters);
  const joined = Object.values(filters).some((value) => value !== undefined);
  const from = joined ? `product_search s JOIN products p ON ${sql(db).column('id')} = s.id` : 'product_search s';
  return { where, from, conditions: where.where ? [where.where.replace(/^WHERE /, '')] : [], joined };
}

/** The total as one row: none, the dictionary's count, a count capped past EXACT_COUNT_LIMIT, or every match. */
function totalSql(plan: Plan, all: string, count: Counting, parts: ReturnType<typeof base>): string {
  const bind = (value: unknown) => parts.where.bind(value);
  if (count === 'none') return 'SELECT NULL::int AS total';
  if (plan.known !== null && !parts.joined) return `SELECT ${bind(plan.known)}::int AS total`;
  const matches = `SELECT FROM ${parts.from} WHERE ${[...parts.conditions, `s.words @@ ${bind(all)}::tsquery`].join(' AND ')}`;
  if (count === 'estimated') return `SELECT count(*)::int AS total FROM (${matches} LIMIT ${EXACT_COUNT_LIMIT + 1}) capped`;
  return `SELECT count(*)::int AS total FROM (${matches}) matched`;
}

/**
 * The page and its total in one statement (one snapshot). After a cursor's row (rank, id), the branches of earlier
 * ranks are dropped and its own rank continues below its id.
 */
function statement(db: Database, plan: Plan, all: string, filters: ProductFilters, options: PageOptions, count: Counting, after?: number[]): { text: string; binds: unknown[] } {
  const { columns, column } = sql(db);
  const parts = base(db, filters);
  const bind = (value: unknown) => parts.where.bind(value);
  const total = totalSql(plan, all, count, parts);
  const n = bind(options.skip + options.limit);
  const [afterRank, afterId] = after ?? [];
  const branches = plan.branches
    .filter((branch) => afterRank === undefined || branch.high >= afterRank)
    .map((branch) => {
      const conditions = [...parts.conditions, ...branch.where(bind)];
      if (afterRank !== undefined && branch.low <= afterRank) {
        const below = `s.id < ${bind(afterId)}`;
        conditions.push(branch.low === branch.high ? below : `(${branch.rank(bind)} > ${bind(afterRank)} OR ${below})`);
      }
      return `(SELECT s.id, ${branch.rank(bind)} AS rank FROM ${parts.from} WHERE ${conditions.join(' AND ')} ORDER BY ${branch.order} LIMIT ${n})`;
    });
  const union = branches.length ? branches.join(' UNION ALL ') : 'SELECT NULL::int AS id, NULL::int AS rank WHERE false';
  const text = `SELECT t.total, m.rank, ${columns}, c.name AS category_name
    FROM (${total}) t
    LEFT JOIN (SELECT b.id, b.rank FROM (${union}) b ORDER BY b.rank, b.id DESC LIMIT ${bind(options.limit)} OFFSET ${bind(options.skip)}) m ON true
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

/**
 * Contract v1.3: the products whose names hold every word of `q` (or of its layout twin), by rank and newest first,
 * or in `sort_by` order; `count` defaults to estimated. A page carries its cursor: the last row's rank and id.
 */
export async function searchWords(db: Database, q: string, filters: ProductFilters, options: PageOptions, signal?: AbortSignal): Promise<ProductPage> {
  const count = options.count ?? 'estimated';
  const print = fingerprint([q, filters, 'words']);
  const after = options.cursor === undefined || options.sortBy ? undefined : decodeCursor(options.cursor, print, ['integer', 'integer']);
  const found = plan(await expand(db, q, signal));
  if (found.all === null) return { rows: [], total: count === 'none' ? null : 0, nextCursor: null };
  if (options.sortBy) return getProductsWithFilters(db, { ...filters, words: found.all }, { ...options, count }, signal);
  const { text, binds } = statement(db, found, found.all, filters, { ...options, limit: options.limit + 1 }, count, after as number[] | undefined);
  const rows = await db.query<Found>(text, binds, signal);
  const matched = rows.filter((row) => row.id !== null);
  const page = matched.slice(0, options.limit).map(({ total: _total, rank: _rank, ...row }) => row as ProductRow);
  const last = matched[options.limit - 1];
  const nextCursor = matched.length > options.limit && last ? encodeCursor(print, [last.rank!, last.id]) : null;
  const total = rows[0]?.total ?? null;
  const exact = count !== 'estimated' || (found.known !== null && !Object.values(filters).some((value) => value !== undefined));
  if (exact || total === null || total <= EXACT_COUNT_LIMIT) return { rows: page, total, nextCursor };
  return { rows: page, total: await estimate(db, found.all, filters, total, signal), estimated: true, nextCursor };
}
