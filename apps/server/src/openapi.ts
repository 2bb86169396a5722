/**
 * The OpenAPI 3.1 document, built in one pass from the contract: its operations (paths, schemas, examples),
 * its error table (every error response), and the server's options (write protection, rate limit).
 */
import { ApiError, CONTRACT_VERSION, ERRORS, operations, type ErrorCode, type Operation } from '@tradeos/contract';
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

Every error is JSON (\`Error\`): \`{ "code", "message" }\`, plus \`issues\` on a 422 and \`request_id\` on a 500.
Every response carries \`X-Request-Id\`: the client's own when valid, else a fresh UUID. A known path with another
method is a 405 with an \`Allow\` header; an unknown path is a 404. Every \`GET\` also answers \`HEAD\`.`;

const TAGS = [
  { name: 'health', description: 'Whether the service and its database answer' },
  { name: 'products', description: 'Products: lists with filters and paging, search, writes and atomic stock changes' },
  { name: 'categories', description: 'Categories, each with its product count' },
  { name: 'events', description: 'The change feed: every committed change, in order, as pages (long poll) or a stream' },
];

const REQUEST_ID = { 'X-Request-Id': { $ref: '#/components/headers/RequestId' } };

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
  SERVICE_UNAVAILABLE: 'The database is unreachable or too slow; retry shortly',
};

const takesBody = (operation: Operation) => operation.method === 'POST' || operation.method === 'PUT' || operation.method === 'PATCH';
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
  UNAUTHORIZED: { 'WWW-Authenticate': { description: 'The scheme to use: `Bearer`', required: true, schema: { type: 'string' } } },
};

function errorResponse(code: ErrorCode, description: string): Json {
  return {
    description,
    headers: { ...REQUEST_ID, ...ERROR_HEADERS[code] },
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' }, example: errorExample(code, ERRORS[code].message) } },
  };
}

function responses(procedure: string, operation: Operation, schemas: SchemaSet, options: DocumentOptions, used: Set<ErrorCode>): Json {
  const shared = (code: ErrorCode) => {
    used.add(code);
    return { [ERRORS[code].status]: { $ref: `#/components/responses/${code}` } };
  };
  const success: Json = { description: operation.successDescription, headers: REQUEST_ID };
  if (operation.success !== 204) success.content = { [operation.stream ? 'text/event-stream' : 'application/json']: { schema: schemas.of(operation.output, 'output') } };
  if (operation.success === 201) {
    success.headers = {
      Location: { description: `Path of the new resource, e.g. \`${operation.path}/17\``, required: true, schema: { type: 'string', format: 'uri-reference' } },
      ...REQUEST_ID,
    };
  }
  if (procedure === 'health') {
    const down = { description: 'The database is unreachable', headers: REQUEST_ID, content: { 'application/json': { schema: { $ref: '#/components/schemas/Health' }, example: { status: 'error', database: 'disconnected' } } } };
    return { 200: success, ...shared('BAD_REQUEST'), ...shared('METHOD_NOT_SUPPORTED'), ...shared('TIMEOUT'), ...shared('REQUEST_HEADER_FIELDS_TOO_LARGE'), ...shared('INTERNAL_SERVER_ERROR'), 503: down };
  }
  const own = Object.fromEntries(Object.entries(operation.errors).map(([code, description]) => [ERRORS[code as ErrorCode].status, errorResponse(code as ErrorCode, description)]));
  const write = operation.method !== 'GET';
  return {
    [operation.success]: success,
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
  const fields = Object.entries(input.properties ?? {}).filter(([name]) => inPath.includes(name) || !takesBody(operation));
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

function requestBody(operation: Operation, input: JsonSchema): Json | undefined {
  if (!takesBody(operation)) return undefined;
  const inPath = pathParameters(operation);
  const properties = Object.fromEntries(Object.entries(input.properties ?? {}).filter(([name]) => !inPath.includes(name)));
  const required = (input.required ?? []).filter((name) => !inPath.includes(name));
  const schema = { ...input, properties, ...(required.length ? { required } : { required: undefined }) };
  return { required: true, content: { 'application/json': { schema: JSON.parse(JSON.stringify(schema)) as Json, example: operation.example.body } } };
}

/** The document of every REST operation, `HEAD` beside each `GET`. */
export function openApiDocument(options: DocumentOptions = {}): Json {
  const schemas = new SchemaSet();
  schemas.of(ApiError, 'output');
  const used = new Set<ErrorCode>();
  const paths: Record<string, Json> = {};
  for (const [procedure, operation] of Object.entries(operations) as [string, Operation][]) {
    const input = schemas.of(operation.input, 'input');
    const fields = parameters(operation, input);
    const declared = {
      operationId: operationId(procedure),
      'x-trpc-procedure': procedure,
      tags: [operation.tag],
      summary: operation.summary,
      description: operation.description,
      ...(operation.method !== 'GET' && options.writeProtected ? { security: [{ apiKey: [] }] } : {}),
      parameters: fields.length ? fields : undefined,
      requestBody: requestBody(operation, input),
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
      headers: {
        RequestId: {
          description: "The client's own `X-Request-Id` when it sent a valid one (1–128 of `A–Z a–z 0–9 . _ : -`), else a fresh UUID",
          required: true,
          schema: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$' },
        },
      },
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
