/**
 * Swagger UI at `/docs` (and `/docs/`) over `/openapi.json`, its scripts and styles served by this server from
 * swagger-ui-dist (no CDN), under a page policy that lets it load nothing from elsewhere.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';

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

export function registerSwaggerUi(app: FastifyInstance): void {
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
