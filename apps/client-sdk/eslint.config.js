/**
 * The shared lint rules, plus this package's promise: the SDK takes only types from @tradeos/api
 * (whose runtime loads the database driver) and nothing at all from the server side.
 */
import tseslint from 'typescript-eslint';
import shared from '../../eslint.config.js';

export default tseslint.config(
  ...shared,
  {
    files: ['src/**/*.ts', 'examples/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [{ name: '@tradeos/api', allowTypeImports: true, message: 'Import only types from @tradeos/api: its runtime loads the database.' }],
          patterns: [{ group: ['@tradeos/db', '@tradeos/db/*', '@tradeos/server', '@tradeos/server/*'], message: 'The SDK never depends on the server side.' }],
        },
      ],
    },
  },
  // Examples are scripts a user runs by hand: like a CLI, they read their settings from the environment.
  { files: ['examples/**/*.ts'], rules: { 'no-restricted-properties': 'off' } },
  // The outside consumer is compiled by the test with its own tsconfig, against the packed SDK.
  { ignores: ['test/consumer/**'] },
);
