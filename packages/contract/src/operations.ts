/**
 * Every operation of the contract, once: its REST method and path, input and output schemas, success status,
 * the errors that are its own (shared ones come from the error table) and an example that succeeds on a freshly
 * seeded catalog when the operations are sent in this order. The router implements these; REST, the OpenAPI
 * document and the SDK are derived from them.
 */
import { z } from 'zod';
import { Category, CategoryCreate, CategoryList, CategoryUpdate } from './category.js';
import { ConditionalIdInput, IdInput } from './common.js';
import type { ErrorCode } from './errors.js';
import { Event, EventListQuery, EventPage, EventStreamQuery } from './event.js';
import { Health } from './health.js';
import {
  Product,
  ProductBulk,
  ProductBulkResult,
  ProductByCategoryQuery,
  ProductCreate,
  ProductListQuery,
  ProductPage,
  ProductQuantityChange,
  ProductSearchQuery,
  ProductUpdate,
} from './product.js';
import { Reservation, ReservationCreate, ReservationIdInput, ReservationListQuery, ReservationPage, ReservationTransition } from './reservation.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface OperationExample {
  /** Path parameters, e.g. `{ id: 17 }`. */
  path?: Record<string, string | number>;
  query?: Record<string, string | number | boolean>;
  body?: Record<string, unknown>;
}

export interface Operation<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  method: HttpMethod;
  /** OpenAPI path, e.g. `/products/{id}`. */
  path: string;
  tag: 'health' | 'products' | 'categories' | 'events' | 'reservations';
  summary: string;
  description: string;
  input: I;
  output: O;
  /** 201 also sends `Location: {path}/{id}`; 204 sends no body. */
  success: 200 | 201 | 204;
  successDescription: string;
  /** What this operation's own errors mean here (404 for a missing row, 409, the 422 wording). */
  errors: Partial<Record<ErrorCode, string>>;
  example: OperationExample;
  /** Contract v1.2: accepts an `Idempotency-Key` header (tRPC: the SDK's per-call key). */
  idempotent?: true;
  /** Served as Server-Sent Events (`text/event-stream`), each message's data one `output`; the tRPC procedure is a subscription. */
  stream?: boolean;
  /** The longest a call may legitimately hold its request open (a long poll), on top of the request timeout. */
  holdsMs?: number;
  /** A POST that takes no body (an action on the resource in its path); an empty JSON object is accepted too. */
  bodyless?: true;
}

const operation = <I extends z.ZodType, O extends z.ZodType>(definition: Operation<I, O>) => definition;

const LIST_DESCRIPTION =
  'Filters combine with AND; `total` counts every match, not just this page. Ties are broken by `id` in the same direction, so paging with `skip`/`limit` never repeats or drops a row while the data stands still.';

export const operations = {
  health: operation({
    method: 'GET',
    path: '/health',
    tag: 'health',
    summary: 'Service and database health',
    description:
      '200 when `SELECT 1` succeeds (with `"migrations":"pending"` while the database is behind this build\'s migrations), 503 `{"status":"error","database":"disconnected"}` when it does not; within 2 s either way.',
    input: z.strictObject({}),
    output: Health,
    success: 200,
    successDescription: 'The service and its database answer',
    errors: {},
    example: {},
  }),
  'products.list': operation({
    method: 'GET',
    path: '/products',
    tag: 'products',
    summary: 'List products',
    description: `${LIST_DESCRIPTION} Ordered by \`sort_by\` (default \`created_at\`, newest first).`,
    input: ProductListQuery,
    output: ProductPage,
    success: 200,
    successDescription: 'One page of products',
    errors: { UNPROCESSABLE_CONTENT: 'Invalid or unknown query parameter' },
    example: {},
  }),
  'products.search': operation({
    method: 'GET',
    path: '/products/search',
    tag: 'products',
    summary: 'Search products by name',
    description: `Case-insensitive substring match on the name, for every alphabet; \`%\`, \`_\` and \`\\\` match themselves. Without \`sort_by\`: exact name, then names starting with \`q\`, then the rest, ties by name. ${LIST_DESCRIPTION}`,
    input: ProductSearchQuery,
    output: ProductPage,
    success: 200,
    successDescription: 'One page of matching products, best match first',
    errors: { UNPROCESSABLE_CONTENT: 'Missing `q`, or an invalid or unknown query parameter' },
    example: { query: { q: 'ноутбук' } },
  }),
  'products.byCategory': operation({
    method: 'GET',
    path: '/products/category/{category}',
    tag: 'products',
    summary: 'List the products of a category, by category name',
    description: `The category is named in the path (URL-encoded, any letter case); an unknown name is a 404. ${LIST_DESCRIPTION}`,
    input: ProductByCategoryQuery,
    output: ProductPage,
    success: 200,
    successDescription: 'One page of the category’s products',
    errors: { NOT_FOUND: 'No category with this name', UNPROCESSABLE_CONTENT: 'Invalid or unknown parameter' },
    example: { path: { category: 'Электроника' } },
  }),
  'products.byId': operation({
    method: 'GET',
    path: '/products/{id}',
    tag: 'products',
    summary: 'Get a product',
    description: 'The product with its category’s id and name.',
    input: IdInput,
    output: Product,
    success: 200,
    successDescription: 'The product',
    errors: { NOT_FOUND: 'No such product', UNPROCESSABLE_CONTENT: 'Invalid id' },
    example: { path: { id: 17 } },
  }),
  'products.create': operation({
    method: 'POST',
    path: '/products',
    tag: 'products',
    summary: 'Create a product',
    description: '`name` and `price` are required; `sku` is unique among products; `category_id` must name an existing category.',
    input: ProductCreate,
    output: Product,
    success: 201,
    successDescription: 'Created; `Location` names the new product',
    errors: {
      CONFLICT: 'A product with this sku already exists, or a request with this `Idempotency-Key` is still running',
      UNPROCESSABLE_CONTENT: 'Invalid body or unknown `category_id`, or an `Idempotency-Key` already used for another request',
    },
    idempotent: true,
    example: { body: { name: 'Ноутбук ASUS Zenbook 14', price: 89990.99, quantity: 5, sku: 'ASU-ZB-14', category_id: 1 } },
  }),
  'products.upsertMany': operation({
    method: 'POST',
    path: '/products/bulk',
    tag: 'products',
    summary: 'Create or update up to 1000 products by sku, all or nothing',
    description:
      'Each item has a required `sku` and the create fields (`category_id`, or `category` as the name of an existing category, not both). An item whose sku exists updates that product (only the fields given; an item equal to the product is `unchanged`, its version untouched), any other is created. One transaction: a bad item is a 422 naming it (`["items", 3, "price"]`) and nothing is written. The body is at most 1 MiB, as on every route (1000 items of about 1 KiB each); split larger loads into several requests.',
    input: ProductBulk,
    output: ProductBulkResult,
    success: 200,
    successDescription: 'What happened to each item, in input order',
    errors: {
      CONFLICT: 'An item would set a product’s `quantity` below its units reserved (nothing is written), or a request with this `Idempotency-Key` is still running',
      UNPROCESSABLE_CONTENT: 'An invalid item (its path names it), a sku repeated within the request, an unknown category, or an `Idempotency-Key` already used for another request',
    },
    idempotent: true,
    example: { body: { items: [{ sku: 'ASU-ZB-14', name: 'Ноутбук ASUS Zenbook 14', price: 87990, quantity: 7, category: 'Электроника' }] } },
  }),
  'products.update': operation({
    method: 'PUT',
    path: '/products/{id}',
    tag: 'products',
    summary: 'Update the given fields of a product',
    description: 'Only the fields given change; an empty body is a 422. The same conflict rules as create; `updated_at` moves forward.',
    input: ProductUpdate,
    output: Product,
    success: 200,
    successDescription: 'The product after the update',
    errors: { PRECONDITION_FAILED: 'If-Match / `expected_version` names another version than the current one; nothing changed', NOT_FOUND: 'No such product', CONFLICT: 'A product with this sku already exists, or `quantity` below the units reserved', UNPROCESSABLE_CONTENT: 'Invalid body, empty update or unknown `category_id`' },
    example: { path: { id: 17 }, body: { price: 84990 } },
  }),
  'products.adjustQuantity': operation({
    method: 'PATCH',
    path: '/products/{id}/quantity',
    tag: 'products',
    summary: 'Change the stock atomically',
    description: 'Exactly one of `delta` (added, may be negative) or `quantity` (the new level). Never goes below 0: that is a 409 and changes nothing, so concurrent decrements never oversell.',
    input: ProductQuantityChange,
    output: Product,
    success: 200,
    successDescription: 'The product as it stood right after this change',
    errors: { PRECONDITION_FAILED: 'If-Match / `expected_version` names another version than the current one; nothing changed', NOT_FOUND: 'No such product', CONFLICT: 'The change would take the stock below 0, or below the units reserved', UNPROCESSABLE_CONTENT: 'Invalid body: exactly one of `delta` or `quantity`' },
    example: { path: { id: 17 }, body: { delta: -1 } },
  }),
  'products.delete': operation({
    method: 'DELETE',
    path: '/products/{id}',
    tag: 'products',
    summary: 'Delete a product',
    description: 'Afterwards the product is gone from every read; a repeated DELETE is a 404.',
    input: ConditionalIdInput,
    output: z.undefined(),
    success: 204,
    successDescription: 'Deleted (no body)',
    errors: { PRECONDITION_FAILED: 'If-Match / `expected_version` names another version than the current one; nothing changed', NOT_FOUND: 'No such product', CONFLICT: 'Active reservations hold the product', UNPROCESSABLE_CONTENT: 'Invalid id' },
    example: { path: { id: 48 } },
  }),
  'categories.list': operation({
    method: 'GET',
    path: '/categories',
    tag: 'categories',
    summary: 'List every category',
    description: 'Every category as a plain array, ordered by name ignoring letter case (then id), each with its `product_count`.',
    input: z.strictObject({}),
    output: CategoryList,
    success: 200,
    successDescription: 'Every category',
    errors: { UNPROCESSABLE_CONTENT: 'Unknown query parameter' },
    example: {},
  }),
  'categories.byId': operation({
    method: 'GET',
    path: '/categories/{id}',
    tag: 'categories',
    summary: 'Get a category',
    description: 'The category with its `product_count`.',
    input: IdInput,
    output: Category,
    success: 200,
    successDescription: 'The category',
    errors: { NOT_FOUND: 'No such category', UNPROCESSABLE_CONTENT: 'Invalid id' },
    example: { path: { id: 1 } },
  }),
  'categories.create': operation({
    method: 'POST',
    path: '/categories',
    tag: 'categories',
    summary: 'Create a category',
    description: '`name` is unique regardless of letter case (`книги` collides with `Книги`).',
    input: CategoryCreate,
    output: Category,
    success: 201,
    successDescription: 'Created; `Location` names the new category',
    errors: {
      CONFLICT: 'A category with this name already exists (any letter case), or a request with this `Idempotency-Key` is still running',
      UNPROCESSABLE_CONTENT: 'Invalid body, or an `Idempotency-Key` already used for another request',
    },
    idempotent: true,
    example: { body: { name: 'Гаджеты', description: 'Умные вещи' } },
  }),
  'categories.update': operation({
    method: 'PUT',
    path: '/categories/{id}',
    tag: 'categories',
    summary: 'Update the given fields of a category',
    description: 'Only the fields given change; an empty body is a 422.',
    input: CategoryUpdate,
    output: Category,
    success: 200,
    successDescription: 'The category after the update',
    errors: { PRECONDITION_FAILED: 'If-Match / `expected_version` names another version than the current one; nothing changed', NOT_FOUND: 'No such category', CONFLICT: 'A category with this name already exists (any letter case)', UNPROCESSABLE_CONTENT: 'Invalid body or empty update' },
    example: { path: { id: 1 }, body: { description: 'Смартфоны, ноутбуки и аксессуары' } },
  }),
  'categories.delete': operation({
    method: 'DELETE',
    path: '/categories/{id}',
    tag: 'categories',
    summary: 'Delete a category that no product references',
    description: 'A category still referenced by products is a 409 and nothing is deleted. (The example deletes the category the create example made.)',
    input: ConditionalIdInput,
    output: z.undefined(),
    success: 204,
    successDescription: 'Deleted (no body)',
    errors: { PRECONDITION_FAILED: 'If-Match / `expected_version` names another version than the current one; nothing changed', NOT_FOUND: 'No such category', CONFLICT: 'Products still reference this category', UNPROCESSABLE_CONTENT: 'Invalid id' },
    example: { path: { id: 5 } },
  }),
  'reservations.create': operation({
    method: 'POST',
    path: '/reservations',
    tag: 'reservations',
    summary: 'Hold stock for a while, all items or none',
    description:
      'Holds `quantity` units of each product until `expires_at` (`ttl_seconds` from now, default 900): they count in the product’s `reserved` and leave its `available`. All or nothing, in one transaction. When any item’s `available` is short, the 409 lists every short item in `shortages` and nothing is held. A reservation past `expires_at` holds nothing from that instant, whether or not any background work has run.',
    input: ReservationCreate,
    output: Reservation,
    success: 201,
    successDescription: 'Held; `Location` names the new reservation',
    errors: {
      CONFLICT: 'Too little available stock for one or more items (`shortages` names each), or a request with this `Idempotency-Key` is still running',
      UNPROCESSABLE_CONTENT: 'Invalid body, an unknown product (`["items", i, "product_id"]`), a product listed twice, or an `Idempotency-Key` already used for another request',
    },
    idempotent: true,
    example: { body: { items: [{ product_id: 17, quantity: 1 }], ttl_seconds: 900, reference: 'order-7731' } },
  }),
  'reservations.list': operation({
    method: 'GET',
    path: '/reservations',
    tag: 'reservations',
    summary: 'List reservations',
    description: 'Newest first (ties by id). `status` is computed at the read, as on every reservation: an active one past its `expires_at` is `expired`.',
    input: ReservationListQuery,
    output: ReservationPage,
    success: 200,
    successDescription: 'One page of reservations',
    errors: { UNPROCESSABLE_CONTENT: 'Invalid or unknown query parameter' },
    example: {},
  }),
  'reservations.byId': operation({
    method: 'GET',
    path: '/reservations/{id}',
    tag: 'reservations',
    summary: 'Get a reservation',
    description: 'The reservation with its items; `status` computed at the read.',
    input: ReservationIdInput,
    output: Reservation,
    success: 200,
    successDescription: 'The reservation',
    errors: { NOT_FOUND: 'No such reservation', UNPROCESSABLE_CONTENT: 'Invalid id (not a uuid)' },
    example: { path: { id: '0b6f5c9e-2a41-4c3e-9d7a-5f1e8b2c4d60' } },
  }),
  'reservations.commit': operation({
    method: 'POST',
    path: '/reservations/{id}/commit',
    tag: 'reservations',
    summary: 'Take the held units out of stock',
    description:
      'Each product’s `quantity` drops by its held units in one transaction (its `version` goes up, a `product.updated` event follows) → `committed`. A committed reservation answers 200 again, before any `If-Match` is compared. No body.',
    input: ReservationTransition,
    output: Reservation,
    success: 200,
    successDescription: 'The reservation, committed',
    errors: {
      PRECONDITION_FAILED: 'If-Match / `expected_version` names another version than the current one; nothing changed',
      NOT_FOUND: 'No such reservation',
      CONFLICT: 'The reservation was released or has expired',
      UNPROCESSABLE_CONTENT: 'Invalid id (not a uuid)',
    },
    bodyless: true,
    example: { path: { id: '0b6f5c9e-2a41-4c3e-9d7a-5f1e8b2c4d60' } },
  }),
  'reservations.release': operation({
    method: 'POST',
    path: '/reservations/{id}/release',
    tag: 'reservations',
    summary: 'Give the held units back',
    description:
      'The units are available again at once → `released`. A released reservation answers 200 again and an expired one 200 with status `expired`, before any `If-Match` is compared. No body.',
    input: ReservationTransition,
    output: Reservation,
    success: 200,
    successDescription: 'The reservation, released (or expired)',
    errors: {
      PRECONDITION_FAILED: 'If-Match / `expected_version` names another version than the current one; nothing changed',
      NOT_FOUND: 'No such reservation',
      CONFLICT: 'The reservation was committed',
      UNPROCESSABLE_CONTENT: 'Invalid id (not a uuid)',
    },
    bodyless: true,
    example: { path: { id: '0b6f5c9e-2a41-4c3e-9d7a-5f1e8b2c4d60' } },
  }),
  'events.list': operation({
    method: 'GET',
    path: '/events',
    tag: 'events',
    summary: 'Read the change feed',
    description:
      'Every committed create, update, stock change and delete of a product or category, once, in id order: follow `next_after` and nothing is missed or repeated, across restarts, workers and instances, including transactions that commit in another order than they started. `wait` holds the request open (long poll) until an event arrives. An `after` older than the retention window (`EVENTS_RETENTION_DAYS`) is a 410: resync from the lists, then follow from the newest id.',
    input: EventListQuery,
    output: EventPage,
    success: 200,
    successDescription: 'The next events after `after`, and the `after` for the next call',
    errors: { GONE: 'The events after `after` are no longer kept; resync', UNPROCESSABLE_CONTENT: 'Invalid or unknown query parameter' },
    example: { query: { after: '0', limit: 10 } },
    holdsMs: 30_000,
  }),
  'events.onChange': operation({
    method: 'GET',
    path: '/events/stream',
    tag: 'events',
    summary: 'Follow the change feed as Server-Sent Events',
    description:
      'The feed of `GET /events` as a stream: each event one message whose `id:` is the event id and `data:` the event. Resumes after `Last-Event-ID` (sent by EventSource on reconnect; it wins over `?after=`, and a bad one is a 422) or `?after=`; comment lines every 15 s keep proxies from closing it. The tRPC procedure `events.onChange` is the same as a subscription.',
    input: EventStreamQuery,
    output: Event,
    success: 200,
    successDescription: 'An endless `text/event-stream`, one message per event',
    errors: { GONE: 'The events after `after` are no longer kept; resync', UNPROCESSABLE_CONTENT: 'Invalid or unknown query parameter' },
    example: { query: { after: '0' } },
    stream: true,
  }),
};
