/**
 * REST over the tRPC router: one Fastify route per operation of the contract, each calling the same resolver
 * through `createCaller`, so REST and RPC cannot disagree. Fastify's own routing gives the contract's
 * precedence: unknown path 404, wrong method 405 (with Allow), then body size 413, media type 415, JSON
 * syntax 400, and only then validation 422 and the resolver's own 404/409.
 */
import { createCaller, errorHeaders, statusOf, toErrorBody, toTRPCError, ValidationError, type Context } from '@tradeos/api';
import { ERRORS, operations, type HttpMethod, type Issue, type Operation } from '@tradeos/contract';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { inputSchema, typeOf, type JsonSchema } from './json-schema.js';
import { UNSERVED_METHODS } from './methods.js';

const ALL_METHODS: HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

const NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?$/;

/**
 * Query strings and path segments are text; convert them to what the schema expects, strictly: only a
 * plain decimal becomes a number and only `true`/`false` a boolean. Anything else stays a string, so
 * zod rejects it (an empty `?min_price=` is a 422, never 0; `in_stock=false` is false).
 */
function fromText(value: unknown, field: JsonSchema | undefined): unknown {
  if (typeof value !== 'string') return value;
  const type = typeOf(field);
  if ((type === 'number' || type === 'integer') && NUMBER.test(value)) return Number(value);
  if (type === 'boolean' && (value === 'true' || value === 'false')) return value === 'true';
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const takesBody = (operation: Operation) => (operation.method === 'POST' || operation.method === 'PUT' || operation.method === 'PATCH') && !operation.bodyless;

// Contract v1.2: REST names the version a write expects in `If-Match`, the tRPC input in this field.
const EXPECTED_VERSION = 'expected_version';
const ENTITY_TAG = /^"(\d+)"$/;

/**
 * `If-Match` as the write's expected version: `"<version>"` (the ETag as sent) is the condition; `*` asks only that the
 * resource exists, which every write asks anyway. A weak tag (`W/"3"`), a list of tags or anything else is a 422:
 * versions are strong tags and one write expects one version. A quoted version that can never exist (`"0"`, past
 * 2 147 483 647) is still a version: it never matches, so a 412 (after the 404 of a missing row).
 */
function expectedVersion(request: FastifyRequest): number | undefined {
  const header = request.headers['if-match'];
  if (header === undefined || header.trim() === '*') return undefined;
  const match = ENTITY_TAG.exec(header.trim());
  if (!match) throw new ValidationError([{ path: ['If-Match'], message: 'must be * or one strong entity tag, the ETag as sent: "3"' }]);
  // Past what a number holds exactly it is just as impossible; the largest exact one stands for it.
  return Math.min(Number(match[1]), Number.MAX_SAFE_INTEGER);
}

/** True when `If-None-Match` names this version (weak comparison: `W/"3"` matches too) or is `*`. */
function noneMatch(request: FastifyRequest, version: number): boolean {
  const header = request.headers['if-none-match'];
  if (header === undefined) return false;
  return header.split(',').some((tag) => {
    const trimmed = tag.trim();
    return trimmed === '*' || trimmed.replace(/^W\//, '') === `"${version}"`;
  });
}

/** The version of a response carrying one resource (Product or Category), which its ETag names. */
const versionOf = (output: unknown): number | undefined =>
  isPlainObject(output) && typeof output.version === 'number' ? output.version : undefined;

function buildInput(operation: Operation, fields: Record<string, JsonSchema>, request: FastifyRequest): unknown {
  const params = request.params as Record<string, string>;
  const query = request.query as Record<string, unknown>;
  // No prototype: a `__proto__` key (`?__proto__=x`) becomes an own field that validation rejects, never a prototype.
  const input = Object.create(null) as Record<string, unknown>;
  for (const [key, value] of Object.entries(params)) input[key] = fromText(value, fields[key]);

  const issues: Issue[] = [];
  for (const [key, value] of Object.entries(query)) {
    if (key === EXPECTED_VERSION) issues.push({ path: [key], message: 'send the version as If-Match: "<version>"' });
    else if (takesBody(operation) || key in params) issues.push({ path: [key], message: 'unknown query parameter' });
    else input[key] = fromText(value, fields[key]);
  }
  // A bodyless POST (commit, release) may still send `{}`; anything in it is checked as a body's fields are.
  if (takesBody(operation) || (operation.bodyless && request.body !== undefined)) {
    if (!isPlainObject(request.body)) throw new ValidationError([{ path: [], message: 'the body must be a JSON object' }]);
    for (const [key, value] of Object.entries(request.body)) {
      if (key in params) issues.push({ path: [key], message: `read-only field: ${key} comes from the path` });
      else if (key === EXPECTED_VERSION) issues.push({ path: [key], message: 'send the version as If-Match: "<version>"' });
      else input[key] = value;
    }
  }
  if (issues.length) throw new ValidationError(issues);
  if (EXPECTED_VERSION in fields) input[EXPECTED_VERSION] = expectedVersion(request);
  return input;
}

type Call = (input: unknown) => Promise<unknown>;

/** The caller's function for a dotted procedure path such as `products.byId`. */
function resolve(caller: object, procedure: string): Call {
  return procedure.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], caller) as Call;
}

function sendError(request: FastifyRequest, reply: FastifyReply, thrown: unknown): FastifyReply {
  // Unknown faults were logged once, with the request id, by the router's error middleware.
  const error = toTRPCError(thrown);
  return reply.code(statusOf(error)).headers(errorHeaders(error)).send(toErrorBody(error, request.id));
}

/** The routes of every operation but health and the event stream, and 405 for the other methods on their paths. */
export function registerRest(app: FastifyInstance, contextFor: (request: FastifyRequest, reply: FastifyReply, holdsMs?: number) => Context): void {
  const allowed = new Map<string, Set<HttpMethod>>();
  for (const [procedure, operation] of Object.entries(operations) as [string, Operation][]) {
    const url = operation.path.replace(/\{(\w+)\}/g, ':$1');
    allowed.set(url, (allowed.get(url) ?? new Set()).add(operation.method));
    // Health and the event stream have routes of their own (app.ts, event-stream.ts).
    if (procedure === 'health' || operation.stream) continue;
    const fields = inputSchema(operation.input).properties ?? {};

    app.route({
      method: operation.method,
      url,
      // No body at all is malformed JSON (400), decided before write protection (401/403) and validation (422).
      preValidation: takesBody(operation)
        ? async (request, reply) => {
            if (request.body === undefined) return reply.code(400).send({ code: 'BAD_REQUEST', message: 'The request body is empty; send a JSON object' });
          }
        : undefined,
      handler: async (request, reply) => {
        try {
          const input = buildInput(operation, fields, request);
          const caller = createCaller(contextFor(request, reply, operation.holdsMs));
          const output = await resolve(caller, procedure)(input);
          if (operation.success === 204) return reply.code(204).send();
          const version = versionOf(output);
          if (version !== undefined) {
            void reply.header('etag', `"${version}"`);
            if (operation.method === 'GET' && noneMatch(request, version)) return reply.code(304).send();
          }
          if (operation.success === 201) void reply.header('location', `${operation.path}/${(output as { id: number }).id}`);
          return reply.code(operation.success).send(output);
        } catch (error) {
          return sendError(request, reply, error);
        }
      },
    });
  }

  // The documentation's own paths, and the metrics', are known paths too.
  allowed.set('/openapi.json', new Set<HttpMethod>(['GET']));
  allowed.set('/docs', new Set<HttpMethod>(['GET']));
  allowed.set('/metrics', new Set<HttpMethod>(['GET']));

  // Known path, wrong method: 405 with Allow, decided before any body is read.
  for (const [url, methods] of allowed) {
    const others = [...ALL_METHODS.filter((method) => !methods.has(method)), ...UNSERVED_METHODS];
    if (!others.length) continue;
    const allow = [...methods, ...(methods.has('GET') ? ['HEAD'] : [])].join(', ');
    app.route({
      method: others,
      url,
      onRequest: async (request, reply) =>
        reply
          .code(ERRORS.METHOD_NOT_SUPPORTED.status)
          .header('allow', allow)
          .send({ code: 'METHOD_NOT_SUPPORTED', message: `${request.method} is not allowed on ${url.replace(/:(\w+)/g, '{$1}')}; use ${allow}` }),
      handler: (_request, reply) => reply,
    });
  }
}
