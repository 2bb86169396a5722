/**
 * REST over the tRPC router: one Fastify route per procedure that carries OpenAPI metadata, so REST and
 * RPC run the same resolvers. Fastify's own routing gives the contract's precedence: unknown path 404,
 * wrong method 405 (with Allow), then body size 413, media type 415, JSON syntax 400, and only then
 * validation 422 and the resolver's own 404/409.
 */
import { appRouter, createCaller, createContext, toErrorBody, toTRPCError, ValidationError, HTTP_STATUS, type Issue, type Meta } from '@tradeos/api';
import type { Database } from '@tradeos/db';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { UNSERVED_METHODS } from './methods.js';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
const ALL_METHODS: Method[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

export interface RestOperation {
  /** Dotted procedure path, e.g. `products.byId`. */
  procedure: string;
  method: Method;
  /** OpenAPI path, e.g. `/products/{id}`. */
  path: string;
  meta: Meta;
  input: z.ZodType | undefined;
  /** POST, PUT and PATCH take a JSON body; GET and DELETE take none. */
  takesBody: boolean;
}

interface ProcedureDef {
  _def: { meta?: Meta; inputs: z.ZodType[] };
}

/** Every procedure with OpenAPI metadata, in router order. */
export function restOperations(): RestOperation[] {
  const procedures = appRouter._def.procedures as unknown as Record<string, ProcedureDef>;
  return Object.entries(procedures).flatMap(([procedure, { _def }]) => {
    const openapi = _def.meta?.openapi;
    if (!openapi || openapi.enabled === false) return [];
    const takesBody = openapi.method !== 'GET' && openapi.method !== 'DELETE';
    return [{ procedure, method: openapi.method, path: openapi.path, meta: _def.meta!, input: _def.inputs[0], takesBody }];
  });
}

/** The base type of a field, seen through optional/default/nullable wrappers. */
function baseType(schema: z.ZodType | undefined): string | undefined {
  let current = schema as { _zod?: { def: { type: string; innerType?: unknown } } } | undefined;
  for (let depth = 0; current?._zod && depth < 8; depth += 1) {
    const { def } = current._zod;
    if (!['optional', 'default', 'nullable', 'prefault', 'readonly'].includes(def.type)) return def.type;
    current = def.innerType as typeof current;
  }
  return undefined;
}

const NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?$/;

/**
 * Query strings and path segments are text; convert them to what the schema expects, strictly: only a
 * plain decimal becomes a number and only `true`/`false` a boolean. Anything else stays a string, so
 * zod rejects it (an empty `?min_price=` is a 422, never 0; `in_stock=false` is false).
 */
function fromText(value: unknown, field: z.ZodType | undefined): unknown {
  if (typeof value !== 'string') return value;
  const type = baseType(field);
  if (type === 'number' && NUMBER.test(value)) return Number(value);
  if (type === 'boolean' && (value === 'true' || value === 'false')) return value === 'true';
  return value;
}

/** The fields of an object input schema (none for anything else). */
export function shapeOf(schema: z.ZodType | undefined): Record<string, z.ZodType> {
  return ((schema as { shape?: Record<string, z.ZodType> } | undefined)?.shape ?? {});
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function buildInput(operation: RestOperation, request: FastifyRequest): unknown {
  const shape = shapeOf(operation.input);
  const params = request.params as Record<string, string>;
  const query = request.query as Record<string, unknown>;
  // No prototype: a `__proto__` key (`?__proto__=x`) becomes an own field that validation rejects, never a prototype.
  const input = Object.create(null) as Record<string, unknown>;
  for (const [key, value] of Object.entries(params)) input[key] = fromText(value, shape[key]);

  const issues: Issue[] = [];
  for (const [key, value] of Object.entries(query)) {
    if (operation.takesBody || key in params) issues.push({ path: [key], message: 'unknown query parameter' });
    else input[key] = fromText(value, shape[key]);
  }
  if (operation.takesBody) {
    if (!isPlainObject(request.body)) throw new ValidationError([{ path: [], message: 'the body must be a JSON object' }]);
    for (const [key, value] of Object.entries(request.body)) {
      if (key in params) issues.push({ path: [key], message: `read-only field: ${key} comes from the path` });
      else input[key] = value;
    }
  }
  if (issues.length) throw new ValidationError(issues);
  return input;
}

type Caller = Record<string, Record<string, (input: unknown) => Promise<unknown>> | ((input: unknown) => Promise<unknown>)>;

function resolve(caller: Caller, procedure: string): (input: unknown) => Promise<unknown> {
  return procedure.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], caller) as (
    input: unknown,
  ) => Promise<unknown>;
}

function sendError(request: FastifyRequest, reply: FastifyReply, thrown: unknown): FastifyReply {
  const error = toTRPCError(thrown);
  if (error.code === 'INTERNAL_SERVER_ERROR') request.log.error({ err: error.cause ?? error }, 'unhandled error');
  return reply.code(HTTP_STATUS[error.code] ?? 500).send(toErrorBody(error, request.id));
}

export function registerRest(app: FastifyInstance, db: Database): void {
  const allowed = new Map<string, Set<Method>>();
  for (const operation of restOperations()) {
    const url = operation.path.replace(/\{(\w+)\}/g, ':$1');
    allowed.set(url, (allowed.get(url) ?? new Set()).add(operation.method));
    // A route the server defines itself (GET /health answers 503 with the Health body) wins.
    if (app.hasRoute({ method: operation.method, url })) continue;
    const status = operation.meta.successStatus ?? 200;

    app.route({
      method: operation.method,
      url,
      // No body at all is malformed JSON (400), decided before write protection (401/403) and validation (422).
      preValidation: operation.takesBody
        ? async (request, reply) => {
            if (request.body === undefined) return reply.code(400).send({ code: 'BAD_REQUEST', message: 'The request body is empty; send a JSON object' });
          }
        : undefined,
      handler: async (request, reply) => {
        try {
          const input = buildInput(operation, request);
          const caller = createCaller(createContext({ db, requestId: request.id, log: request.log }));
          const output = await resolve(caller as unknown as Caller, operation.procedure)(input);
          if (status === 204) return reply.code(204).send();
          if (status === 201) void reply.header('location', `${operation.path}/${(output as { id: number }).id}`);
          return reply.code(status).send(output);
        } catch (error) {
          return sendError(request, reply, error);
        }
      },
    });
  }

  // The documentation's own paths are known paths too.
  allowed.set('/openapi.json', new Set<Method>(['GET']));
  allowed.set('/docs', new Set<Method>(['GET']));

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
          .code(405)
          .header('allow', allow)
          .send({ code: 'METHOD_NOT_SUPPORTED', message: `${request.method} is not allowed on ${url.replace(/:(\w+)/g, '{$1}')}; use ${allow}` }),
      handler: (_request, reply) => reply,
    });
  }
}
