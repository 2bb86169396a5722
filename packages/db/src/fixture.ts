/**
 * The database fixtures every test suite uses: one fresh database per test file (migrated, or empty for tests
 * that run the migrations or a server process themselves), created before its tests and dropped after them,
 * on the server the shared vitest global setup provides.
 */
import { afterAll, beforeAll, inject } from 'vitest';
import type { Database, DatabaseOptions } from './connection/database.js';
import { createMigratedDatabase, createTestDatabase, type TestDatabase } from './testing.js';

/**
 * Registers the calling file's database (`options` open its handle: pool size, timeouts; through the run's PgBouncer
 * when its global setup started one) and returns its handle,
 * usable in every test and hook of the file: it forwards to the database the first `beforeAll` creates.
 */
export function useMigratedDatabase(options: Omit<DatabaseOptions, 'url'> = {}): Database {
  let handle: Awaited<ReturnType<typeof createMigratedDatabase>> | undefined;
  beforeAll(async () => {
    handle = await createMigratedDatabase(inject('adminUrl'), options, inject('poolerUrl') || undefined);
  });
  afterAll(() => handle?.drop());
  const current = (): Database => {
    if (!handle) throw new Error('the database fixture is ready only inside tests and hooks');
    return handle.db;
  };
  return new Proxy({} as Database, {
    get: (_target, key) => Reflect.get(current(), key) as unknown,
    has: (_target, key) => Reflect.has(current(), key),
    ownKeys: () => Reflect.ownKeys(current()),
    getOwnPropertyDescriptor: (_target, key) => Reflect.getOwnPropertyDescriptor(current(), key),
  });
}

/** An empty database for the calling file (nothing migrated): its URL, for the CLI or a server the test starts. */
export function useEmptyDatabase(): { readonly url: string } {
  let database: TestDatabase | undefined;
  beforeAll(async () => {
    database = await createTestDatabase(inject('adminUrl'));
  });
  afterAll(() => database?.drop());
  return {
    get url(): string {
      if (!database) throw new Error('the database fixture is ready only inside tests and hooks');
      return database.url;
    },
  };
}
