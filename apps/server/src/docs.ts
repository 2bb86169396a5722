/**
 * The OpenAPI document of the REST routes, corrected to what the server really answers, and Swagger UI over it:
 * `GET /openapi.json` and `/docs`, whose scripts and styles come from swagger-ui-dist on this server (no CDN).
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import fastifyStatic from '@fastify/static';
import { ApiError, appRouter } from '@tradeos/api';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { generateOpenApiDocument, type OpenAPIObject } from 'trpc-to-openapi';
import type { z } from 'zod';
import { restOperations, shapeOf, type RestOperation } from './rest.js';

type PathItem = NonNullable<OpenAPIObject['paths']>[string];
type Operation = NonNullable<PathItem['get']>;
type Reference = { $ref: string };
type Response = Exclude<NonNullable<NonNullable<Operation['responses']>['default']>, Reference>;
type Parameter = Exclude<NonNullable<Operation['parameters']>[number], Reference>;
type RequestBody = Exclude<NonNullable<Operation['requestBody']>, Reference>;

const ERROR_REF = '#/components/schemas/Error';
const REQUEST_ID_HEADER = { 'X-Request-Id': { $ref: '#/components/headers/RequestId' } };

const DESCRIPTION = `The TradeOS product catalog over REST. The same operations are also served as tRPC procedures at \`/trpc\`.

Every error is JSON (\`Error\`): \`{ "code", "message" }\`, plus \`issues\` on a 422 and \`request_id\` on a 500.
Every response carries \`X-Request-Id\`: the client's own when valid, else a fresh UUID. A known path with the wrong
method is a 405 with an \`Allow\` header; an unknown path is a 404.`;

/** Error statuses every operation may share; 404 and 409 come from each procedure's own meta. */
const ERRORS: Record<number, { code: string; description: string; message: string }> = {
  400: { code: 'BAD_REQUEST', description: 'The body is not valid JSON (an empty body included)', message: 'The request body is not valid JSON' },
  413: { code: 'PAYLOAD_TOO_LARGE', description: 'The body is over 1 MiB', message: 'The request body exceeds 1 MiB' },
  415: { code: 'UNSUPPORTED_MEDIA_TYPE', description: 'The body is not `application/json`', message: 'The request body must be application/json' },
  500: {
    code: 'INTERNAL_SERVER_ERROR',
    description: 'Unexpected fault: a generic message and the `request_id` to quote, never internals',
    message: 'Internal server error',
  },
  503: {
    code: 'SERVICE_UNAVAILABLE',
    description: 'The database is unreachable; retry shortly',
    message: 'The database is unavailable; try again shortly',
  },
};

const TAGS = [
  { name: 'health', description: 'Whether the service and its database answer' },
  { name: 'products', description: 'Products: lists with filters and paging, search, writes and atomic stock changes' },
  { name: 'categories', description: 'Categories, each with its product count' },
];

/** `GET /health` is answered by app.ts itself: it reads no input, and its 503 carries the Health body. */
const HEALTH = 'health';

function errorResponse(description: string, example: Record<string, unknown>): Response {
  return { description, headers: REQUEST_ID_HEADER, content: { 'application/json': { schema: { $ref: ERROR_REF }, example } } };
}


/** A `z.strictObject` input, whose unknown keys are a 422 (the generator loses this for refined objects). */
function isStrict(schema: z.ZodType | undefined): boolean {
  const catchall = (schema?._zod.def as { catchall?: z.ZodType } | undefined)?.catchall;
  return catchall?._zod.def.type === 'never';
}

function errorResponses(operation: RestOperation): Record<string, Response> {
  const listed = operation.meta.openapi?.errorResponses as Record<string, string> | undefined;
  const fromMeta = (status: number, code: string): Record<string, Response> => {
    const description = listed?.[status];
    return description ? { [status]: errorResponse(description, { code, message: description }) } : {};
  };
  const generic = (status: number): Record<string, Response> => {
    const { code, description, message } = ERRORS[status]!;
    return { [status]: errorResponse(description, status === 500 ? { code, message, request_id: 'b7e1c2d4-5f6a-4b8c-9d0e-1f2a3b4c5d6e' } : { code, message }) };
  };
  if (operation.procedure === HEALTH) {
    const down: Response = {
      description: listed?.[503] ?? ERRORS[503]!.description,
      headers: REQUEST_ID_HEADER,
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Health' }, example: { status: 'error', database: 'disconnected' } } },
    };
    return { ...generic(500), 503: down };
  }

  const field = Object.keys(shapeOf(operation.input))[0];
  const invalid = listed?.[422] ?? 'Invalid parameter or body';
  const issue = field ? { path: [field], message: 'is invalid' } : { path: ['x'], message: 'unknown query parameter' };
  return {
    ...(operation.takesBody ? { ...generic(400), ...generic(413), ...generic(415) } : {}),
    ...fromMeta(404, 'NOT_FOUND'),
    ...fromMeta(409, 'CONFLICT'),
    422: errorResponse(`${invalid}; \`issues\` names each bad field`, {
      code: 'UNPROCESSABLE_CONTENT',
      message: `Invalid input: ${issue.path.join('.')}: ${issue.message}`,
      issues: [issue],
    }),
    ...generic(500),
    ...generic(503),
  };
}

function successResponse(operation: RestOperation, generated: Response): [string, Response] {
  const description = operation.meta.openapi?.successDescription ?? generated.description;
  switch (operation.meta.successStatus) {
    case 204:
      return ['204', { description, headers: REQUEST_ID_HEADER }];
    case 201: {
      const location = {
        description: `Path of the new resource, e.g. \`${operation.path}/17\``,
        required: true,
        schema: { type: 'string' as const, format: 'uri-reference' },
        example: `${operation.path}/17`,
      };
      return ['201', { ...generated, description, headers: { Location: location, ...REQUEST_ID_HEADER } }];
    }
    default:
      return ['200', { ...generated, description, headers: REQUEST_ID_HEADER }];
  }
}

/** Parameter descriptions sit on the zod field's optional wrapper, which the generator unwraps and drops. */
function describeParameters(operation: RestOperation, parameters: Operation['parameters']): void {
  const shape = shapeOf(operation.input);
  for (const parameter of (parameters ?? []) as Parameter[]) {
    const description = (shape[parameter.name]?.meta() as { description?: string } | undefined)?.description;
    if (description && !parameter.description) parameter.description = description;
    // Swagger UI pre-fills "Try it out" with examples: on optional filters that silently narrows the list.
    if (parameter.in === 'query') delete (parameter.schema as { example?: unknown } | undefined)?.example;
  }
}

const WRITE_ERRORS: Record<string, Response> = {
  401: errorResponse('Write protection is on and no API key was sent', { code: 'UNAUTHORIZED', message: 'This write needs an API key: Authorization: Bearer <key>' }),
  403: errorResponse('Write protection is on and the API key is not accepted', { code: 'FORBIDDEN', message: 'This API key is not accepted' }),
};

function correct(document: OpenAPIObject, writeProtected: boolean): OpenAPIObject {
  for (const operation of restOperations()) {
    const generated = document.paths?.[operation.path]?.[operation.method.toLowerCase() as 'get'];
    if (!generated) throw new Error(`OpenAPI document lacks ${operation.method} ${operation.path}`);
    delete generated.security;
    // camelCase, not the dotted procedure name: Swagger UI escapes dots in its deep links (`#/products/products\.byId`).
    generated.operationId = operation.procedure.replace(/\.(\w)/g, (_dot, letter: string) => letter.toUpperCase());
    generated['x-trpc-procedure'] = operation.procedure;
    generated.summary ??= operation.procedure;
    describeParameters(operation, generated.parameters);
    if (!generated.parameters?.length) delete generated.parameters;

    const body = generated.requestBody as RequestBody | undefined;
    const bodySchema = body?.content['application/json']?.schema as { type?: string; additionalProperties?: unknown } | undefined;
    if (bodySchema?.type === 'object' && isStrict(operation.input)) bodySchema.additionalProperties = false;

    const [status, success] = successResponse(operation, (generated.responses as Record<string, Response>)['200']!);
    generated.responses = { [status]: success, ...errorResponses(operation) };
    // With API_KEYS set, exactly the writes need the key; Swagger UI then offers "Authorize".
    if (writeProtected && operation.method !== 'GET') {
      generated.security = [{ apiKey: [] }];
      generated.responses = { ...generated.responses, ...WRITE_ERRORS };
    }
  }

  const schemas = document.components?.schemas ?? {};
  for (const name of Object.keys(schemas)) if (name.startsWith('error.')) delete schemas[name];
  delete document.components?.securitySchemes;
  document.tags = TAGS;
  document.components = {
    ...document.components,
    ...(writeProtected ? { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'One of the keys in API_KEYS' } } } : {}),
    schemas,
    headers: {
      RequestId: {
        description: "The client's own `X-Request-Id` when it sent a valid one (1–128 of `A–Z a–z 0–9 . _ : -`), else a fresh UUID",
        required: true,
        schema: { type: 'string' },
      },
    },
  };
  return document;
}

const memo = new Map<boolean, OpenAPIObject>();

/**
 * The OpenAPI 3.1 document of every REST operation, generated once from the router and corrected;
 * with `writeProtected`, the writes declare the bearer key and their 401/403.
 */
export function openApiDocument({ writeProtected = false }: { writeProtected?: boolean } = {}): OpenAPIObject {
  const cached = memo.get(writeProtected);
  if (cached) return cached;
  const document = correct(
    generateOpenApiDocument(appRouter, {
      title: 'TradeOS Catalog API',
      version: '1.0.0',
      baseUrl: '/',
      description: DESCRIPTION,
      defs: { Error: ApiError },
    }),
    writeProtected,
  );
  memo.set(writeProtected, document);
  return document;
}

const SWAGGER_UI_DIR = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
/** The swagger-ui-dist files the page uses (and their source maps); its sample index.html and initializer stay hidden. */
const ASSET = /^\/(swagger-ui-bundle\.js|swagger-ui\.css|index\.css|favicon-(16x16|32x32)\.png)(\.map)?$/;

const PAGE = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>TradeOS Catalog API</title>
    <link rel="stylesheet" type="text/css" href="/docs/swagger-ui.css">
    <link rel="stylesheet" type="text/css" href="/docs/index.css">
    <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
    <link rel="icon" type="image/png" href="/docs/favicon-16x16.png" sizes="16x16">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/swagger-ui-bundle.js" charset="UTF-8"></script>
    <script src="/docs/swagger-initializer.js" charset="UTF-8"></script>
  </body>
</html>
`;

// validatorUrl: null, or Swagger UI would fetch a validity badge from swagger.io.
const INITIALIZER = `window.onload = function () {
  window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true, layout: 'BaseLayout', validatorUrl: null });
};
`;

// Only this server's own origin: the page works offline and cannot load anything from elsewhere.
const PAGE_POLICY = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'";

/** `GET /openapi.json`, and Swagger UI at `/docs` (and `/docs/`) with its assets under `/docs/`. */
export function registerDocs(app: FastifyInstance, options: { writeProtected?: boolean } = {}): void {
  const document = openApiDocument(options);
  app.get('/openapi.json', (_request, reply) => reply.send(document));

  const page = (_request: unknown, reply: FastifyReply) =>
    reply.type('text/html; charset=utf-8').header('content-security-policy', PAGE_POLICY).send(PAGE);
  app.get('/docs', page);
  app.get('/docs/', page);
  app.get('/docs/swagger-initializer.js', (_request, reply) => reply.type('text/javascript; charset=utf-8').send(INITIALIZER));

  void app.register(fastifyStatic, {
    root: SWAGGER_UI_DIR,
    prefix: '/docs/',
    index: false,
    decorateReply: false,
    allowedPath: (pathName) => ASSET.test(pathName),
  });
}
