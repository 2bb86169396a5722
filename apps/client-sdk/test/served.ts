import type { AddressInfo } from 'node:net';
import type { Database } from '@tradeos/db';
import { useMigratedDatabase } from '@tradeos/db/fixture';
import { buildApp } from '@tradeos/server/app';
import { afterAll, beforeAll } from 'vitest';
import { createCatalogClient, type CatalogClient, type CatalogClientOptions } from '../src/index.js';

export interface ServedCatalog {
  db: Database;
  base: string;
  client: CatalogClient;
}

/**
 * The calling file's catalog: a server on a migrated database of its own, listening on a free port, and an SDK
 * client of it made with `options`. Its fields are set inside tests and hooks.
 */
export function useServedCatalog(options: Omit<CatalogClientOptions, 'url'> = {}): ServedCatalog {
  const db = useMigratedDatabase();
  const served = { db } as ServedCatalog;
  let app: ReturnType<typeof buildApp> | undefined;
  beforeAll(async () => {
    app = buildApp({ db });
    await app.listen({ port: 0, host: '127.0.0.1' });
    served.base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    served.client = createCatalogClient({ url: served.base, ...options });
  });
  afterAll(() => app?.close());
  return served;
}
