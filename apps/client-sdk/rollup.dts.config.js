/**
 * The published declarations: one file, with the contract's and the router's types inlined (those packages
 * are not published), so a consumer's `tsc` needs only tRPC and zod, the package's dependencies.
 */
import { dts } from 'rollup-plugin-dts';

export default {
  input: 'src/index.ts',
  output: [
    { file: 'dist/index.d.ts', format: 'es' },
    { file: 'dist/index.d.cts', format: 'es' },
  ],
  external: [/^@trpc\//, /^zod(\/|$)/],
  plugins: [dts({ respectExternal: true, tsconfig: 'tsconfig.build.json' })],
};
