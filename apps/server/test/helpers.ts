/** A live server on a fresh migrated database, for tests that speak real HTTP. */
import type { AddressInfo } from 'node:net';
import { seed, type Database, type DatabaseOptions } from '@tradeos/db';
import { createMigratedDatabase } from '@tradeos/db/testing';
import type { FastifyInstance } from 'fastify';
import { inject } from 'vitest';
import { buildApp, type AppOptions } from '../src/app.js';

export interface LiveServer {
  base: string;
  db: Database;
  app: FastifyInstance;
  close: () => Promise<void>;
}

export interface ServerOptions extends Partial<Omit<AppOptions, 'db'>> {
  /** Fill the catalog as `pnpm db:seed` does (4 categories, 48 products) before serving. */
  seeded?: boolean;
  /** How the fresh database's handle is opened (pool size, timeouts). */
  database?: Omit<DatabaseOptions, 'url'>;
  /** Serve this handle instead of a fresh database; the caller keeps it (`close()` leaves it open). */
  db?: Database;
}

export async function startServer({ seeded = false, database, db: given, ...options }: ServerOptions = {}): Promise<LiveServer> {
  const { db, drop } = given ? { db: given, drop: () => Promise.resolve() } : await createMigratedDatabase(inject('adminUrl'), database);
  if (seeded) await seed(db);
  const app = buildApp({ db, ...options });
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
