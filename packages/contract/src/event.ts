/** Contract v1.2, the change feed: one event per committed change of a product, category or (v1.3) reservation, in id order. */
import { z } from 'zod';
import { Category } from './category.js';
import { Id, Timestamp, Version } from './common.js';
import { Product } from './product.js';
import { Reservation, ReservationId } from './reservation.js';

/** An event id: a decimal string (ids outgrow a JSON number's exact range), increasing. */
export const EventId = z
  .string()
  .regex(/^(0|[1-9]\d{0,18})$/, 'must be an event id: a decimal integer')
  .meta({ description: 'An event id (decimal string).', example: '1042' });

/** The events of one entity whose `data` has one shape, as a named schema: generated clients get a type per branch. */
function eventsOf<
  const Entity extends string,
  const Types extends readonly [`${Entity}.${string}`, ...`${Entity}.${string}`[]],
  Data extends z.ZodType,
  EntityId extends z.ZodType = typeof Id,
>(name: string, entity: Entity, types: Types, data: Data, description: string, entityId: EntityId = Id as unknown as EntityId) {
  return z
    .object({ id: EventId, type: z.enum(types), entity: z.literal(entity), entity_id: entityId, version: Version, occurred_at: Timestamp, data })
    .meta({ id: name, description });
}

/**
 * An event, a union tagged by `type` (v1.3): the type decides what `data` is, so a typed consumer narrows it.
 * A reservation's `entity_id` is its uuid.
 */
export const Event = z
  .discriminatedUnion('type', [
    eventsOf('ProductEvent', 'product', ['product.created', 'product.updated'], Product, 'A product created or changed: `data` is the product right after the change.'),
    eventsOf('ProductDeletedEvent', 'product', ['product.deleted'], z.null(), 'A product deleted: `data` is null.'),
    eventsOf('CategoryEvent', 'category', ['category.created', 'category.updated'], Category, 'A category created or changed: `data` is the category right after the change.'),
    eventsOf('CategoryDeletedEvent', 'category', ['category.deleted'], z.null(), 'A category deleted: `data` is null.'),
    eventsOf(
      'ReservationEvent',
      'reservation',
      ['reservation.created', 'reservation.committed', 'reservation.released', 'reservation.expired'],
      Reservation,
      'A reservation created, committed, released or expired: `data` is the reservation then; `entity_id` is its uuid. Only to consumers whose `types` name these.',
      ReservationId,
    ),
  ])
  .meta({ id: 'ChangeEvent', description: 'One committed change; its `type` decides what `data` carries.' });
export type Event = z.infer<typeof Event>;
export type EventType = Event['type'];

/** Every event type, read off the union so the two never drift apart. */
export const eventTypes: readonly EventType[] = Event.options.flatMap((option) => option.shape.type.options);

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
  limit: z.number().int().min(1).max(1000).default(100).meta({ description: 'Events per page, 1–1000; default 100.' }),
  wait: z.number().int().min(0).max(30).default(0).meta({ description: 'Seconds to hold the request open while no event is there yet (long poll); it answers as soon as one arrives.' }),
});
export type EventListQuery = z.input<typeof EventListQuery>;

export const EventStreamQuery = z.strictObject(feedParams);
export type EventStreamQuery = z.input<typeof EventStreamQuery>;

export const EventPage = z
  .object({
    items: z.array(Event),
    next_after: EventId.meta({ description: 'The `after` of the next call: the last id of this page, or the `after` given when the page is empty.' }),
  })
  .meta({ id: 'EventPage' });
export type EventPage = z.infer<typeof EventPage>;

/** v1.3: what a consumer without `types` gets: product and category events only, as in v1.2. */
export const DEFAULT_EVENT_TYPES: readonly EventType[] = eventTypes.filter((type) => !type.startsWith('reservation.'));

/** The event types a `types` parameter names; without one, the v1.2 types (reservation events only when named). */
export const parseEventTypes = (types: string | undefined): EventType[] => (types ? (types.split(',') as EventType[]) : [...DEFAULT_EVENT_TYPES]);
