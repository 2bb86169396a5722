/** Shared lint rules for every package: type-checked typescript-eslint, unused code is an error. */
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/.turbo/**', '.data/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'all', caughtErrorsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read configuration in env.ts only.' },
      ],
    },
  },
  {
    files: ['**/env.ts', '**/cli.ts', 'bench/**', '**/*.test.ts', '**/test/**', '**/vitest.config.ts', '**/global-setup.ts', 'tooling/pooler-setup.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    // Functions a reader can hold, files a reader can find their way in (blank lines and comments not counted);
    // migrations and seed data are lists, not logic.
    files: ['packages/*/src/**/*.ts', 'apps/*/src/**/*.ts', 'src/**/*.ts'],
    ignores: ['**/migrations/**', '**/seed-data.ts'],
    rules: {
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true, IIFEs: true }],
      'max-lines': ['error', { max: 400, skipBlankLines: true, skipComments: true }],
    },
  },
  // packages/db by concern: each folder imports only the layers its header names (packages/db/README.md).
  ...Object.entries({
    connection: ['**/store/*', '**/feed/*', '**/ops/*', '**/schema/migrator*', '**/schema/migrations/*', '**/rows*'],
    schema: ['**/store/*', '**/feed/*', '**/ops/*'],
    store: ['**/ops/*'],
    feed: ['**/store/*', '**/schema/*', '**/schema/**', '**/ops/*'],
    search: ['**/feed/*', '**/ops/*', '**/schema/**'],
    reservations: ['**/feed/*', '**/ops/*'],
  }).map(([folder, group]) => ({
    files: [`packages/db/src/${folder}/**/*.ts`],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group, message: `packages/db/src/${folder}/ does not import this layer.` }] }] },
  })),
  {
    files: ['**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
