import { defineConfig } from 'vitest/config';

// The contract is pure code: no database, so none of the shared global setup.
export default defineConfig({ test: { include: ['src/**/*.test.ts'] } });
