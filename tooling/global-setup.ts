/** One PostgreSQL server for a package's whole test run: TEST_DATABASE_URL's, or a throwaway embedded one. */
import { startTestServer } from '@tradeos/db/testing';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    adminUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startTestServer(process.env.TEST_DATABASE_URL);
  project.provide('adminUrl', server.adminUrl);
  return () => server.stop();
}
