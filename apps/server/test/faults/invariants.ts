/**
 * What must hold after a fault, whatever the timing: every answer in the contract's shape, no transport failure,
 * every acknowledged write in the database (reservations and their commits and releases included), every
 * unacknowledged bulk all or nothing, and the feed holding exactly the committed changes. Reads the database directly
 * (not through the API under test).
 */
import { ERRORS, type ErrorCode } from '@tradeos/contract';
import type { Database } from '@tradeos/db';
import { STOCK, type Answer, type History } from './load.js';

export interface Verdict {
  violations: string[];
  /** One line per fact, for the per-fault summary. */
  summary: Record<string, string | number>;
}

interface ProductRow {
  id: number;
  sku: string;
  name: string;
  price: string;
  quantity: number;
  description: string | null;
  version: number;
}

interface EventRow {
  id: string;
  type: string;
  entity_id: number;
  version: number;
  data: { price: string | number; quantity: number; description: string | null } | null;
}

/** At most this many examples of one kind of violation are listed. */
const EXAMPLES = 5;

function limited(kind: string, items: string[]): string[] {
  if (!items.length) return [];
  return [`${kind}: ${items.length}× — ${items.slice(0, EXAMPLES).join('; ')}`];
}

/** Every answer is 2xx or the contract's error; a 500 passes only when the server logged it as a deadlock (another fix's). */
function checkAnswers(answers: Answer[], serverOutput: string, servingFrom: number): { violations: string[]; deadlocks: number } {
  const failures: string[] = [];
  const shapes: string[] = [];
  const unexpected: string[] = [];
  const lateUnavailable: string[] = [];
  let deadlocks = 0;
  const logLines = serverOutput.split('\n');
  for (const answer of answers) {
    const what = `${answer.op}@${answer.started}ms`;
    if (answer.failure) {
      failures.push(`${what} ${answer.failure}`);
      continue;
    }
    const status = answer.status!;
    if (status < 300) continue;
    const { code, message } = (answer.body ?? {}) as { code?: string; message?: unknown };
    if (!code || !(code in ERRORS) || ERRORS[code as ErrorCode].status !== status || typeof message !== 'string') {
      shapes.push(`${what} ${status} ${JSON.stringify(answer.body)}`);
    } else if (status === 503) {
      if (answer.started >= servingFrom) lateUnavailable.push(`${what} ${message}`);
    } else if (status === 500 && logLines.some((line) => answer.requestId && line.includes(answer.requestId) && /deadlock/i.test(line))) {
      deadlocks += 1;
    } else {
      unexpected.push(`${what} ${status} ${message} (request ${answer.requestId ?? '?'})`);
    }
  }
  return {
    violations: [
      ...limited('transport failure (no answer) of a request the server received', failures),
      ...limited('answer not in the contract shape', shapes),
      ...limited('status the contract does not allow here', unexpected),
      ...limited('503 after the service had recovered (a stale connection?)', lateUnavailable),
    ],
    deadlocks,
  };
}

/** Acknowledged creates exist as sent; every create retried with its key after recovery was applied once. */
function checkCreates(history: History, bySku: Map<string, ProductRow>): { violations: string[]; lost: number } {
  const lost: string[] = [];
  const unresolved: string[] = [];
  for (const create of history.creates) {
    const row = bySku.get(create.body.sku);
    if (create.id === undefined) unresolved.push(create.key);
    else if (!row || row.id !== create.id || row.name !== create.body.name) lost.push(`${create.key} (id ${create.id}) → ${JSON.stringify(row)}`);
  }
  return { violations: [...limited('acknowledged create lost or changed', lost), ...limited('create still unresolved after its keyed retry', unresolved)], lost: lost.length };
}

/** A PUT's price is the last acknowledged one or a later unacknowledged one; the stock lies within the deltas sent. */
function checkOwned(history: History, byId: Map<number, ProductRow>): { violations: string[]; lost: number } {
  const wrong: string[] = [];
  let lost = 0;
  for (const owned of history.owned) {
    const row = byId.get(owned.id);
    if (!row) {
      wrong.push(`product ${owned.id} missing`);
      lost += 1;
      continue;
    }
    const lastAcked = owned.puts.findLastIndex((put) => put.acked);
    const allowed = [lastAcked < 0 ? owned.price : owned.puts[lastAcked]!.price, ...owned.puts.slice(lastAcked + 1).map((put) => put.price)];
    if (!allowed.includes(Number(row.price))) {
      wrong.push(`product ${owned.id} price ${row.price}, allowed ${allowed.join('|')}`);
      lost += 1;
    }
    const added = row.quantity - owned.quantity;
    const { acked, unknown } = owned.deltas;
    if (added < acked) lost += 1;
    if (added < acked || added > acked + unknown) wrong.push(`product ${owned.id} stock +${added}, acknowledged +${acked}, unknown ${unknown}`);
  }
  return { violations: limited('acknowledged update lost, or an update applied twice', wrong), lost };
}

/**
 * Each bulk creates its fresh skus and retags the writer's shared ones in one transaction, and a writer's bulks run
 * one after another: a bulk applied means all its fresh skus exist with its tag, and the shared skus carry the tag
 * of the last bulk applied.
 */
function checkBulks(history: History, bySku: Map<string, ProductRow>): { violations: string[]; lost: number; applied: number; unknown: number } {
  const wrong: string[] = [];
  let lost = 0;
  let applied = 0;
  let unknown = 0;
  for (const writer of history.bulks) {
    let last: string | undefined;
    for (const bulk of writer.bulks) {
      const rows = bulk.fresh.map((sku) => bySku.get(sku));
      const present = rows.filter((row) => row !== undefined);
      if (present.length !== 0 && present.length !== rows.length) wrong.push(`${bulk.tag}: ${present.length} of ${rows.length} fresh skus`);
      if (bulk.acked && present.length === 0) {
        wrong.push(`${bulk.tag}: acknowledged, absent`);
        lost += 1;
      }
      if (present.some((row) => row.description !== bulk.tag)) wrong.push(`${bulk.tag}: a fresh sku carries another tag`);
      if (present.length) last = bulk.tag;
      if (!bulk.acked) {
        unknown += 1;
        if (present.length) applied += 1;
      }
    }
    const tags = new Set(writer.shared.map((sku) => bySku.get(sku)?.description));
    if (tags.size !== 1 || !tags.has(last)) wrong.push(`shared skus tagged ${[...tags].join('|')}, last bulk applied ${last ?? 'none'}`);
  }
  return { violations: limited('bulk not all or nothing, or acknowledged and lost', wrong), lost, applied, unknown };
}

/**
 * The feed holds exactly the committed changes: one product.created per product, versions 1..n without a gap or a
 * repeat, the last event's data equal to the row, and no event of a product that does not exist (nothing is deleted).
 */
function checkFeed(products: ProductRow[], events: EventRow[]): string[] {
  const wrong: string[] = [];
  const byEntity = new Map<number, EventRow[]>();
  for (const event of events) byEntity.set(event.entity_id, [...(byEntity.get(event.entity_id) ?? []), event]);
  const ids = new Set(products.map((row) => row.id));
  for (const id of byEntity.keys()) if (!ids.has(id)) wrong.push(`events of product ${id}, which does not exist`);
  for (const row of products) {
    const mine = byEntity.get(row.id) ?? [];
    const created = mine.filter((event) => event.type === 'product.created').length;
    const versions = mine.map((event) => event.version).join(',');
    const expected = Array.from({ length: row.version }, (_, i) => i + 1).join(',');
    if (created !== 1) wrong.push(`product ${row.id} has ${created} product.created events`);
    if (versions !== expected) wrong.push(`product ${row.id} at version ${row.version}, events' versions [${versions}]`);
    const data = mine.at(-1)?.data;
    if (data && (Number(data.price) !== Number(row.price) || data.quantity !== row.quantity || data.description !== row.description)) {
      wrong.push(`product ${row.id}: last event's data differs from the row`);
    }
  }
  return limited('feed differs from the committed changes', wrong);
}

interface ReservationRow {
  id: string;
  reference: string;
  state: string;
  items: { product_id: number; quantity: number }[];
}

/**
 * Reservations: each acknowledged one exists (once for its key), an acknowledged commit or release left it so, each
 * holds exactly the one unit asked for (all or nothing), and each stocked product lost exactly its committed units.
 */
function checkReservations(history: History, rows: ReservationRow[], byId: Map<number, ProductRow>): { violations: string[]; lost: number } {
  const wrong: string[] = [];
  let lost = 0;
  const byReference = new Map<string, ReservationRow[]>();
  for (const row of rows) byReference.set(row.reference, [...(byReference.get(row.reference) ?? []), row]);
  for (const reservation of history.reservations) {
    const found = byReference.get(reservation.key) ?? [];
    if (found.length > 1) wrong.push(`${reservation.key}: ${found.length} reservations for one key`);
    const row = found[0];
    if (reservation.id === undefined) continue;
    if (!row || row.id !== reservation.id) {
      wrong.push(`${reservation.key} (${reservation.id}): acknowledged, absent`);
      lost += 1;
    } else if (reservation.ended && row.state !== (reservation.action === 'commit' ? 'committed' : 'released')) {
      wrong.push(`${reservation.key}: ${reservation.action} acknowledged, state ${row.state}`);
      lost += 1;
    }
  }
  for (const row of rows) {
    const item = row.items[0];
    if (row.items.length !== 1 || !item || item.quantity !== 1 || !history.stocked.includes(item.product_id)) wrong.push(`${row.reference}: items ${JSON.stringify(row.items)}`);
  }
  for (const productId of history.stocked) {
    const committed = rows.filter((row) => row.state === 'committed' && row.items[0]?.product_id === productId).length;
    const quantity = byId.get(productId)?.quantity;
    if (quantity !== STOCK - committed) wrong.push(`product ${productId}: quantity ${String(quantity)}, ${committed} units committed of ${STOCK}`);
  }
  return { violations: limited('reservation lost, changed, or counted wrong', wrong), lost };
}

/** A follower received every event after its start exactly once, in id order: its ids are a prefix of the table's. */
function checkFollow(name: string, follow: History['longPoll'], allIds: string[]): string[] {
  const expected = allIds.filter((id) => BigInt(id) > BigInt(follow.after));
  const mismatch = follow.ids.findIndex((id, i) => id !== expected[i]);
  if (mismatch < 0) return [];
  return [`${name} follower: at position ${mismatch} got event ${follow.ids[mismatch]}, expected ${expected[mismatch] ?? 'none'}`];
}

export async function checkInvariants(db: Database, history: History, prefix: string, serverOutput: string, servingFrom: number): Promise<Verdict> {
  const products = await db.query<ProductRow>('SELECT id, sku, name, price::text AS price, quantity, description, version FROM products WHERE sku LIKE $1', [`${prefix}-%`]);
  const allProducts = await db.query<{ id: number }>('SELECT id FROM products');
  const events = await db.query<EventRow>(
    `SELECT e.id::text AS id, e.type, e.entity_id, e.version, e.data FROM events e WHERE e.entity = 'product' AND e.entity_id = ANY($1) ORDER BY e.id`,
    [products.map((row) => row.id)],
  );
  const orphans = await db.query<{ id: string; entity_id: number }>(
    `SELECT e.id::text AS id, e.entity_id FROM events e WHERE e.entity = 'product' AND NOT EXISTS (SELECT 1 FROM products p WHERE p.id = e.entity_id)`,
  );
  // What a follower without `types` receives (no reservation events), ordered by the bigint (its text puts 10 before 2).
  const allIds = (await db.query<{ id: string }>(`SELECT e.id::text AS id FROM events e WHERE e.entity IN ('product', 'category') ORDER BY e.id`)).map((row) => row.id);
  const reservations = await db.query<ReservationRow>(
    `SELECT r.id::text AS id, r.reference, r.state, coalesce(json_agg(json_build_object('product_id', i.product_id, 'quantity', i.quantity)) FILTER (WHERE i.product_id IS NOT NULL), '[]') AS items
       FROM reservations r LEFT JOIN reservation_items i ON i.reservation_id = r.id WHERE r.reference LIKE $1 GROUP BY r.id`,
    [`${prefix}-%`],
  );
  const bySku = new Map(products.map((row) => [row.sku, row]));
  const byId = new Map(products.map((row) => [row.id, row]));

  const answers = checkAnswers(history.answers, serverOutput, servingFrom);
  const creates = checkCreates(history, bySku);
  const owned = checkOwned(history, byId);
  const bulks = checkBulks(history, bySku);
  const held = checkReservations(history, reservations, byId);
  const violations = [
    ...answers.violations,
    ...creates.violations,
    ...owned.violations,
    ...bulks.violations,
    ...held.violations,
    ...checkFeed(products, events),
    ...limited('event of a product that does not exist', orphans.map((row) => `event ${row.id} of product ${row.entity_id}`)),
    ...checkFollow('long-poll', history.longPoll, allIds),
    ...checkFollow('SSE', history.stream, allIds),
  ];

  const statuses = new Map<string, number>();
  for (const answer of history.answers) {
    const key = answer.failure ? `reset(${answer.failure})` : answer.status === 503 && answer.retryAfter ? '503+Retry-After' : String(answer.status);
    statuses.set(key, (statuses.get(key) ?? 0) + 1);
  }
  const acked = (op: string, status: number) => history.answers.filter((a) => a.op === op && a.status === status).length;
  return {
    violations,
    summary: {
      answers: [...statuses].sort().map(([status, n]) => `${status}: ${n}`).join(', '),
      'acknowledged writes': `creates ${history.creates.filter((c) => c.id !== undefined && !c.retried).length} (+${history.creates.filter((c) => c.retried).length} after a keyed retry, ${history.answers.filter((a) => a.op === 'retry' && a.replayed).length} of them replays: committed, though answered 503), PUTs ${acked('put', 200)}, PATCHes ${acked('patch', 200)}, bulks ${acked('bulk', 200)}`,
      reservations: `${acked('reserve', 201)} acknowledged (${reservations.length} in the database), ${acked('commit', 200)} commits and ${acked('release', 200)} releases acknowledged`,
      'unacknowledged bulks': `${bulks.unknown} (${bulks.applied} applied whole, ${bulks.unknown - bulks.applied} not at all)`,
      'feed followed': `long poll ${history.longPoll.ids.length} events, SSE ${history.stream.ids.length} events`,
      '500 deadlocks (another fix)': answers.deadlocks,
      products: `${products.length} of this load, ${allProducts.length} in all`,
      lost: creates.lost + owned.lost + bulks.lost + held.lost,
      violations: violations.length,
    },
  };
}
