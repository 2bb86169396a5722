/** The published JavaScript: ESM and CJS; tRPC stays external. Declarations come from rollup.dts.config.js. */
import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  target: 'node20',
  external: [/^@trpc\//, 'zod'],
  clean: true,
  tsconfig: 'tsconfig.build.json',
});
