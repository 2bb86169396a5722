/** The feed's pages: events in a range of ids, read with the retention watermark in the same snapshot. */
import type { Event, EventType } from '@tradeos/contract';
import type { Database } from '../connection/database.js';
import { DataError } from '../errors.js';
import { EVENT_COLUMNS, toEvent, type EventRow } from '../rows.js';

export const gone = () => new DataError('gone', 'The events after this cursor are no longer kept; resync and follow from the newest event');

export interface EventsRead {
  items: Event[];
  /** The `after` of the next read. */
  nextAfter: string;
}

/** Events in (after, upTo] of the given types, at most `limit`; a cursor below the retention watermark is `gone`. */
export async function readEvents(
  db: Database,
  range: { after: string | undefined; upTo: bigint; limit: number; types: EventType[] | undefined },
  signal?: AbortSignal,
): Promise<EventsRead> {
  const { after, upTo, limit, types } = range;
  // A cursor at or past the horizon has nothing to read, and nothing of it can be pruned: retention removes only
  // events days old, all long below the horizon. So a consumer waiting at the head costs no query.
  if (after !== undefined && BigInt(after) >= upTo) return { items: [], nextAfter: after };
  const rows = await db.query<EventRow & { pruned_through: string }>(
    `SELECT r.pruned_through::text AS pruned_through, ${EVENT_COLUMNS}
       FROM events_retention r
       LEFT JOIN LATERAL (
         SELECT * FROM events
          WHERE id > COALESCE($1::bigint, r.pruned_through) AND id <= $2::bigint AND ($3::text[] IS NULL OR type = ANY($3::text[]))
          ORDER BY id LIMIT $4
       ) e ON true`,
    [after ?? null, String(upTo), types ?? null, limit],
    signal,
  );
  const prunedThrough = rows[0]?.pruned_through ?? '0';
  if (after !== undefined && BigInt(after) < BigInt(prunedThrough)) throw gone();
  const items = rows.filter((row) => row.id !== null).map(toEvent);
  return { items, nextAfter: items.at(-1)?.id ?? after ?? prunedThrough };
}
