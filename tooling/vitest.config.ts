/**
 * The one vitest configuration every package uses: tests beside the code and in test/, and a global
 * setup that gives the whole run one PostgreSQL server (see global-setup.ts).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig, mergeConfig } from 'vitest/config';

const config = defineConfig({
  test: {
    globalSetup: [fileURLToPath(new URL('./global-setup.ts', import.meta.url))],
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
export default config;

/** The API's suites: the same, plus PgBouncer in front of the server when `TEST_POOLER=transaction` (pooler-setup.ts). */
export const pooledConfig = mergeConfig(config, {
  test: { globalSetup: [fileURLToPath(new URL('./pooler-setup.ts', import.meta.url))] },
});
