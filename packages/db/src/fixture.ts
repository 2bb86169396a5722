/**
 * The migrated-database fixture every test suite uses: one fresh, migrated database per test file, created
 * before its tests and dropped after them, on the server the shared vitest global setup provides.
 */
import { afterAll, beforeAll, inject } from 'vitest';
import type { Database, DatabaseOptions } from './connection.js';
import { createMigratedDatabase } from './testing.js';

/**
 * Registers the calling file's database (`options` open its handle: pool size, timeouts) and returns its handle,
 * usable in every test and hook of the file: it forwards to the database the first `beforeAll` creates.
 */
export function useMigratedDatabase(options: Omit<DatabaseOptions, 'url'> = {}): Database {
  let handle: Awaited<ReturnType<typeof createMigratedDatabase>> | undefined;
  beforeAll(async () => {
    handle = await createMigratedDatabase(inject('adminUrl'), options);
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
