/**
 * With `TEST_POOLER=transaction`: PgBouncer (transaction mode) in front of the run's PostgreSQL server, so the suites
 * that use `pooledConfig` (the API's: apps/server, packages/api) serve every request through it, as
 * `DATABASE_POOLER=transaction` deploys; migrations, the feed and test administration keep the direct URL.
 */
import type {} from '@tradeos/db/testing';
import type { TestProject } from 'vitest/node';
import { startPgBouncer } from './cluster/pgbouncer.js';

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const mode = process.env.TEST_POOLER;
  if (mode === undefined || mode === '') return undefined;
  if (mode !== 'transaction') throw new Error(`TEST_POOLER: only "transaction" is supported, not ${JSON.stringify(mode)}`);
  const admin = new URL(project.getProvidedContext().adminUrl);
  const bouncer = await startPgBouncer({ host: admin.hostname, port: Number(admin.port || 5432), users: [decodeURIComponent(admin.username)] });
  project.provide('poolerUrl', bouncer.through(admin.toString()));
  return () => bouncer.stop();
}
