/**
 * Every HTTP method Node parses, known to Fastify too, so a method a path does not serve (OPTIONS, TRACE,
 * PROPFIND, …) reaches that path's 405 with Allow instead of looking like an unknown route.
 */
import { METHODS } from 'node:http';
import type { FastifyInstance } from 'fastify';

const SERVED = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);

/** Methods no route serves; CONNECT never reaches a route (Node hands it to the 'connect' event). */
export const UNSERVED_METHODS = METHODS.filter((method) => !SERVED.has(method) && method !== 'CONNECT');

export function acceptEveryMethod(app: FastifyInstance): void {
  for (const method of UNSERVED_METHODS) {
    if (!app.supportedMethods.includes(method)) app.addHttpMethod(method, { hasBody: true });
  }
}
