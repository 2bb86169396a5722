/** Contract v1.2, the change feed: one event per committed change of a product or category, in id order. */
import { z } from 'zod';
import { Category } from './category.js';
import { Id, Timestamp, Version } from './common.js';
import { Product } from './product.js';

export const eventTypes = ['product.created', 'product.updated', 'product.deleted', 'category.created', 'category.updated', 'category.deleted'] as const;
export type EventType = (typeof eventTypes)[number];

/** An event id: a decimal string (ids outgrow a JSON number's exact range), increasing. */
export const EventId = z
  .string()
  .regex(/^(0|[1-9]\d{0,18})$/, 'must be an event id: a decimal integer')
  .meta({ description: 'An event id (decimal string).', example: '1042' });

const ANY_TYPE = eventTypes.map((type) => type.replace('.', '\\.')).join('|');
const TYPE_LIST = new RegExp(`^(${ANY_TYPE})(,(${ANY_TYPE}))*$`);

const feedParams = {
  after: EventId.optional().meta({
    description: 'Only events after this id (the last id a consumer saw). Omitted: from the oldest event kept. An id older than the retention window is a 410.',
  }),
  types: z
    .string()
    .regex(TYPE_LIST, `must be a comma-separated list of: ${eventTypes.join(', ')}`)
    .optional()
    .meta({ description: 'Only these event types, comma-separated.', example: 'product.updated,product.deleted' }),
};

export const EventListQuery = z.strictObject({
  ...feedParams,
  limit: z.number().int().min(1).max(1000).default(100),
  wait: z.number().int().min(0).max(30).default(0).meta({ description: 'Seconds to hold the request open while no event is there yet (long poll); it answers as soon as one arrives.' }),
});
export type EventListQuery = z.input<typeof EventListQuery>;

export const EventStreamQuery = z.strictObject(feedParams);
export type EventStreamQuery = z.input<typeof EventStreamQuery>;

export const Event = z
  .object({
    id: EventId,
    type: z.enum(eventTypes),
    entity: z.enum(['product', 'category']),
    entity_id: Id,
    version: Version,
    occurred_at: Timestamp,
    data: z.union([Product, Category]).nullable().meta({ description: 'The resource as it stood right after the change; null for `*.deleted`.' }),
  })
  .meta({ id: 'Event' });
export type Event = z.infer<typeof Event>;

export const EventPage = z
  .object({
    items: z.array(Event),
    next_after: EventId.meta({ description: 'The `after` of the next call: the last id of this page, or the `after` given when the page is empty.' }),
  })
  .meta({ id: 'EventPage' });
export type EventPage = z.infer<typeof EventPage>;

/** The event types a `types` parameter names, or undefined for all. */
export const parseEventTypes = (types: string | undefined): EventType[] | undefined => (types ? (types.split(',') as EventType[]) : undefined);
