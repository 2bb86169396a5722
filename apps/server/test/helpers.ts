/** A live server on a fresh migrated database, for tests that speak real HTTP. */
import type { AddressInfo } from 'node:net';
import type { Database } from '@tradeos/db';
import { createMigratedDatabase } from '@tradeos/db/testing';
import type { FastifyInstance } from 'fastify';
import { inject } from 'vitest';
import { buildApp } from '../src/app.js';

export interface LiveServer {
  base: string;
  db: Database;
  app: FastifyInstance;
  close: () => Promise<void>;
}

export async function startServer(): Promise<LiveServer> {
  const { db, drop } = await createMigratedDatabase(inject('adminUrl'));
  const app = buildApp({ db });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    db,
    app,
    close: async () => {
      await app.close();
      await drop();
    },
  };
}

export interface JsonResponse {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

/** fetch that sends JSON bodies and parses JSON answers. */
export async function call(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<JsonResponse> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
  }
  const response = await fetch(`${base}${path}`, init);
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, body: parsed, text };
}
