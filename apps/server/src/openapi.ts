/**
 * The OpenAPI 3.1 document, built in one pass from the contract: its operations (paths, schemas, examples),
 * its error table (every error response), and the server's options (write protection, rate limit).
 */
import { ApiError, CONTRACT_VERSION, ERRORS, operations, type ErrorCode, type Operation } from '@tradeos/contract';
import { z } from 'zod';
import { SchemaSet, type JsonSchema } from './json-schema.js';

type Json = Record<string, unknown>;

export interface DocumentOptions {
  /** With API keys set, the writes declare the bearer scheme and their 401/403. */
  writeProtected?: boolean;
  /** With a rate limit set, every operation but health declares its 429. */
  rateLimited?: boolean;
}

const DESCRIPTION = `The TradeOS product catalog over REST. The same operations are also served as tRPC procedures at \`/trpc\`
(the typed TypeScript SDK uses them).

Every error is JSON (\`ErrorBody\`): \`{ "code", "message" }\`, plus \`issues\` on a 422 and \`request_id\` on a 500.
Every response carries \`X-Request-Id\`: the client's own when valid, else a fresh UUID. A known path with another
method is a 405 with an \`Allow\` header; an unknown path is a 404. Every \`GET\` also answers \`HEAD\`.

Safe writes (v1.2): \`POST /products\`, \`POST /categories\` and \`POST /products/bulk\` take an \`Idempotency-Key\`:
a repeat with the same key and body within 24 hours gets the first response again (\`Idempotent-Replayed: true\`),
the key with another body is a 422, a repeat while the first still runs a 409. Responses carrying one product or
category send \`ETag: "<version>"\`; \`If-None-Match\` on a read answers 304, \`If-Match\` on \`PUT\`, \`PATCH\` and
\`DELETE\` makes the write conditional (412 when the version moved on). Lists page by \`cursor\` as well as \`skip\`.

Read your writes (v1.3): every response but an event stream carries \`X-Catalog-Position\`, a token of the data it
saw (after a write, the primary's position at its commit). A read that sends it back as \`X-Catalog-Min-Position\`
is answered from data at least that new, by a replica that has replayed it (waiting at most 100 ms) or else by the
primary; without it, a read may be up to \`REPLICA_MAX_LAG_MS\` stale when replicas are configured.`;

const TAGS = [
  { name: 'health', description: 'Whether the service and its database answer' },
  { name: 'products', description: 'Products: lists with filters and paging, search, writes and atomic stock changes' },
  { name: 'categories', description: 'Categories, each with its product count' },
  { name: 'reservations', description: 'v1.3: hold stock for a checkout, then commit (take it) or release (give it back); never oversold, exact expiry' },
  { name: 'events', description: 'The change feed: every committed change, in order, as pages (long poll) or a stream' },
];

const REQUEST_ID = { 'X-Request-Id': { $ref: '#/components/headers/RequestId' } };
// Contract v1.3: on every response but an event stream.
const HEADERS = { ...REQUEST_ID, 'X-Catalog-Position': { $ref: '#/components/headers/Position' } };

/** Error responses shared by operations, under `components.responses`, named by their code. */
const SHARED: Partial<Record<ErrorCode, string>> = {
  BAD_REQUEST: 'The body is not valid JSON (an empty body included), or the URL cannot be decoded',
  UNAUTHORIZED: 'Write protection is on and no API key was sent',
  FORBIDDEN: 'Write protection is on and the API key is not accepted',
  METHOD_NOT_SUPPORTED: 'This path with another method; the `Allow` header lists the methods it serves',
  TIMEOUT: 'The request was not received within the server’s request timeout',
  PAYLOAD_TOO_LARGE: 'The body is over 1 MiB',
  UNSUPPORTED_MEDIA_TYPE: 'The body is not `application/json`',
  TOO_MANY_REQUESTS: 'The rate limit is exceeded; `Retry-After` says when to try again',
  REQUEST_HEADER_FIELDS_TOO_LARGE: 'The request headers (the URL included) exceed 16 KiB',
  INTERNAL_SERVER_ERROR: 'An unexpected fault: a generic message and the `request_id` to quote, never internals',
  SERVICE_UNAVAILABLE:
    'Busy (with `Retry-After`): no database connection was free in time, nothing was changed, a retry is safe. Unavailable (without it): the database could not be reached; a write’s outcome is unknown, so retry a POST with its `Idempotency-Key` and other writes with `If-Match`',
};

const takesBody = (operation: Operation) => (operation.method === 'POST' || operation.method === 'PUT' || operation.method === 'PATCH') && !operation.bodyless;
const pathParameters = (operation: Operation) => [...operation.path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]!);
const operationId = (procedure: string) => procedure.replace(/\.(\w)/g, (_dot, letter: string) => letter.toUpperCase());

function errorExample(code: ErrorCode, message: string): Json {
  if (code === 'INTERNAL_SERVER_ERROR') return { code, message, request_id: 'b7e1c2d4-5f6a-4b8c-9d0e-1f2a3b4c5d6e' };
  if (code === 'UNPROCESSABLE_CONTENT') return { code, message: `Invalid input: id: ${message}`, issues: [{ path: ['id'], message }] };
  return { code, message };
}

// Headers some errors carry besides X-Request-Id.
const ERROR_HEADERS: Partial<Record<ErrorCode, Json>> = {
  METHOD_NOT_SUPPORTED: { Allow: { description: 'The methods this path serves', required: true, schema: { type: 'string' } } },
  TOO_MANY_REQUESTS: { 'Retry-After': { description: 'Seconds to wait', required: true, schema: { type: 'integer', minimum: 0 } } },
  SERVICE_UNAVAILABLE: { 'Retry-After': { description: 'Present when the service is busy: seconds to wait before a retry', required: false, schema: { type: 'integer', minimum: 0 } } },
  UNAUTHORIZED: { 'WWW-Authenticate': { description: 'The scheme to use: `Bearer`', required: true, schema: { type: 'string' } } },
};

function errorResponse(code: ErrorCode, description: string): Json {
  return {
    description,
    headers: { ...HEADERS, ...ERROR_HEADERS[code] },
    content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' }, example: errorExample(code, ERRORS[code].message) } },
  };
}

// Contract v1.2: the tRPC input field REST sends as `If-Match`.
const EXPECTED_VERSION = 'expected_version';
const ETAG = { ETag: { $ref: '#/components/headers/ETag' } };

/** True when the operation answers with one versioned resource (a Product or a Category), which carries an ETag. */
const versioned = (operation: Operation) => operation.output instanceof z.ZodObject && 'version' in operation.output.shape;

/**
 * The request headers an operation takes: `Idempotency-Key`, `If-Match` on conditional writes, `If-None-Match` on
 * reads by id (v1.2), `X-Catalog-Min-Position` on reads (v1.3).
 */
function headerParameters(operation: Operation, input: JsonSchema): Json[] {
  return [
    ...(operation.method === 'GET' && !operation.stream ? [{ $ref: '#/components/parameters/MinPosition' }] : []),
    ...(operation.idempotent ? [{ $ref: '#/components/parameters/IdempotencyKey' }] : []),
    ...(EXPECTED_VERSION in (input.properties ?? {}) ? [{ $ref: '#/components/parameters/IfMatch' }] : []),
    ...(operation.method === 'GET' && versioned(operation) ? [{ $ref: '#/components/parameters/IfNoneMatch' }] : []),
  ];
}

function responses(procedure: string, operation: Operation, schemas: SchemaSet, options: DocumentOptions, used: Set<ErrorCode>): Json {
  const shared = (code: ErrorCode) => {
    used.add(code);
    return { [ERRORS[code].status]: { $ref: `#/components/responses/${code}` } };
  };
  const success: Json = {
    description: operation.successDescription,
    headers: {
      ...(operation.stream ? REQUEST_ID : HEADERS),
      ...(versioned(operation) ? ETAG : {}),
      ...(operation.idempotent ? { 'Idempotent-Replayed': { $ref: '#/components/headers/IdempotentReplayed' } } : {}),
    },
  };
  if (operation.success !== 204) success.content = { [operation.stream ? 'text/event-stream' : 'application/json']: { schema: schemas.of(operation.output, 'output') } };
  if (operation.success === 201) {
    success.headers = {
      Location: { description: `Path of the new resource, e.g. \`${operation.path}/17\``, required: true, schema: { type: 'string', format: 'uri-reference' } },
      ...(success.headers as Json),
    };
  }
  const notModified =
    operation.method === 'GET' && versioned(operation) ? { 304: { description: '`If-None-Match` names the current version: no body', headers: { ...HEADERS, ...ETAG } } } : {};
  if (procedure === 'health') {
    const down = { description: 'The database is unreachable', headers: HEADERS, content: { 'application/json': { schema: { $ref: '#/components/schemas/Health' }, example: { status: 'error', database: 'disconnected' } } } };
    return { 200: success, ...shared('BAD_REQUEST'), ...shared('METHOD_NOT_SUPPORTED'), ...shared('TIMEOUT'), ...shared('REQUEST_HEADER_FIELDS_TOO_LARGE'), ...shared('INTERNAL_SERVER_ERROR'), 503: down };
  }
  const own = Object.fromEntries(Object.entries(operation.errors).map(([code, description]) => [ERRORS[code as ErrorCode].status, errorResponse(code as ErrorCode, description)]));
  const write = operation.method !== 'GET';
  return {
    [operation.success]: success,
    ...notModified,
    ...shared('BAD_REQUEST'),
    ...(write && options.writeProtected ? { ...shared('UNAUTHORIZED'), ...shared('FORBIDDEN') } : {}),
    ...shared('METHOD_NOT_SUPPORTED'),
    ...shared('TIMEOUT'),
    ...(takesBody(operation) ? { ...shared('PAYLOAD_TOO_LARGE'), ...shared('UNSUPPORTED_MEDIA_TYPE') } : {}),
    ...own,
    ...(options.rateLimited ? shared('TOO_MANY_REQUESTS') : {}),
    ...shared('REQUEST_HEADER_FIELDS_TOO_LARGE'),
    ...shared('INTERNAL_SERVER_ERROR'),
    ...shared('SERVICE_UNAVAILABLE'),
  };
}

function parameters(operation: Operation, input: JsonSchema): Json[] {
  const inPath = pathParameters(operation);
  const fields = Object.entries(input.properties ?? {}).filter(([name]) => name !== EXPECTED_VERSION && (inPath.includes(name) || !takesBody(operation)));
  return fields.map(([name, { description, example: _example, ...schema }]) => {
    const where = inPath.includes(name) ? 'path' : 'query';
    // Query examples stay out: Swagger UI pre-fills them, silently narrowing a list.
    const example = where === 'path' ? operation.example.path?.[name] : operation.example.query?.[name];
    return {
      name,
      in: where,
      required: where === 'path' || (input.required ?? []).includes(name),
      ...(description ? { description } : {}),
      schema,
      ...(example === undefined ? {} : { example }),
    };
  });
}

/** Request bodies are named components, so a generated client has a type for each (`ProductCreate`, not an inline object). */
const BODY_NAMES: Record<string, string> = {
  'products.create': 'ProductCreate',
  'products.update': 'ProductUpdate',
  'products.upsertMany': 'ProductBulk',
  'products.adjustQuantity': 'QuantityChange',
  'categories.create': 'CategoryCreate',
  'categories.update': 'CategoryUpdate',
};

/** A body's component: its name above, else the procedure's (`reservations.create` → `ReservationsCreateBody`). */
function bodyName(procedure: string): string {
  return BODY_NAMES[procedure] ?? `${procedure.replace(/(^|\.)(\w)/g, (_, _dot: string, letter: string) => letter.toUpperCase())}Body`;
}

function requestBody(procedure: string, operation: Operation, input: JsonSchema, schemas: SchemaSet): Json | undefined {
  if (!takesBody(operation)) return undefined;
  const inPath = pathParameters(operation);
  const properties = Object.fromEntries(Object.entries(input.properties ?? {}).filter(([name]) => !inPath.includes(name) && name !== EXPECTED_VERSION));
  const required = (input.required ?? []).filter((name) => !inPath.includes(name));
  const name = bodyName(procedure);
  schemas.components[name] = JSON.parse(JSON.stringify({ ...input, properties, ...(required.length ? { required } : { required: undefined }) })) as JsonSchema;
  return { required: true, content: { 'application/json': { schema: { $ref: `#/components/schemas/${name}` }, example: operation.example.body } } };
}

/** The header parameters several operations share, declared once under `components.parameters`. */
const PARAMETERS: Json = {
  IdempotencyKey: {
    name: 'Idempotency-Key',
    in: 'header',
    required: false,
    description:
      'Makes the POST safe to retry (1–255 printable ASCII characters, e.g. a UUID per logical operation). A repeat with the same key and body within 24 hours gets the first response again with `Idempotent-Replayed: true` and changes nothing; the key with another body is a 422 (`path: []`); a repeat while the first still runs is a 409. Keys are per API key when write protection is on. Only successful responses are kept: after an error the same key runs again.',
    schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x20-\\x7E]+$' },
  },
  IfMatch: {
    name: 'If-Match',
    in: 'header',
    required: false,
    description:
      'Change only while the resource is at this version: the `ETag` as received, `"3"`. Another version, or one that can never exist (`"0"`), is a 412 and nothing changes; `*` only asks that it exists. A weak tag or a list of tags is a 422. (tRPC: the `expected_version` input.)',
    schema: { type: 'string', example: '"3"' },
  },
  MinPosition: {
    name: 'X-Catalog-Min-Position',
    in: 'header',
    required: false,
    description:
      'An `X-Catalog-Position` this client received: the read is answered from data at least that new (a replica that has replayed it, waiting at most 100 ms, else the primary). The SDK sends the highest one it has seen with every read. Anything but 16 upper-case hex digits is a 422 (`path: []`).',
    schema: { type: 'string', pattern: '^[0-9A-F]{16}$', example: '000000000301A2B8' },
  },
  IfNoneMatch: {
    name: 'If-None-Match',
    in: 'header',
    required: false,
    description: 'The `ETag`(s) the client holds (weak comparison, `*` for any): a match is a 304 without a body.',
    schema: { type: 'string', example: '"3"' },
  },
};

/** The response headers several operations share, under `components.headers`. */
const RESPONSE_HEADERS: Json = {
  ETag: { description: 'The resource\'s `version` as a strong entity tag, `"3"`', required: true, schema: { type: 'string', pattern: '^"\\d+"$' } },
  Position: {
    description: 'v1.3: a token of the data this response saw (after a write: the primary\'s position at its commit), 16 upper-case hex digits, so that tokens compare as strings; send it back as `X-Catalog-Min-Position` to read your writes',
    required: true,
    schema: { type: 'string', pattern: '^[0-9A-F]{16}$' },
  },
  IdempotentReplayed: { description: '`true` when this is the stored response of an earlier request with the same `Idempotency-Key`', schema: { type: 'string', enum: ['true'] } },
  RequestId: {
    description: "The client's own `X-Request-Id` when it sent a valid one (1–128 of `A–Z a–z 0–9 . _ : -`), else a fresh UUID",
    required: true,
    schema: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$' },
  },
};

/** The document of every REST operation, `HEAD` beside each `GET`. */
export function openApiDocument(options: DocumentOptions = {}): Json {
  const schemas = new SchemaSet();
  schemas.of(ApiError, 'output');
  const used = new Set<ErrorCode>();
  const paths: Record<string, Json> = {};
  for (const [procedure, operation] of Object.entries(operations) as [string, Operation][]) {
    const input = schemas.of(operation.input, 'input');
    const fields = [...parameters(operation, input), ...headerParameters(operation, input)];
    const declared = {
      operationId: operationId(procedure),
      'x-trpc-procedure': procedure,
      tags: [operation.tag],
      summary: operation.summary,
      description: operation.description,
      ...(operation.method !== 'GET' && options.writeProtected ? { security: [{ apiKey: [] }] } : {}),
      parameters: fields.length ? fields : undefined,
      requestBody: requestBody(procedure, operation, input, schemas),
      responses: responses(procedure, operation, schemas, options, used),
    };
    const item = (paths[operation.path] ??= {});
    item[operation.method.toLowerCase()] = JSON.parse(JSON.stringify(declared)) as Json;
    if (operation.method === 'GET') item.head = headOf(declared);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'TradeOS Catalog API',
      version: CONTRACT_VERSION,
      description: DESCRIPTION,
      contact: { name: 'TradeOS Catalog team' },
      license: { name: 'Proprietary', identifier: 'LicenseRef-TradeOS-Proprietary' },
    },
    servers: [{ url: '/', description: 'This server' }],
    // Reads are open; with write protection on, each write names its scheme.
    security: [],
    tags: TAGS,
    paths,
    components: {
      schemas: schemas.components,
      responses: Object.fromEntries([...used].map((code) => [code, errorResponse(code, SHARED[code]!)])),
      parameters: PARAMETERS,
      headers: RESPONSE_HEADERS,
      ...(options.writeProtected ? { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'One of the keys in API_KEYS' } } } : {}),
    },
  };
}

/** `HEAD` answers as `GET` does, without a body. */
function headOf(get: Json): Json {
  const responses = Object.fromEntries(
    Object.entries(get.responses as Record<string, Json>).map(([status, response]) => {
      const code = typeof response.$ref === 'string' ? (response.$ref.split('/').pop() as ErrorCode) : undefined;
      const { content: _content, ...headers } = code ? errorResponse(code, SHARED[code]!) : response;
      return [status, headers];
    }),
  );
  return JSON.parse(JSON.stringify({ ...get, operationId: `${get.operationId as string}Head`, summary: `${get.summary as string} (headers only)`, responses })) as Json;
}
