// Lint with typed rules (STYLE.md): dropped promises, type-only imports, no import cycles,
// and layer boundaries (DESIGN §6: a folder imports only from the layers below it).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

const NODE_IO = [
  'node:net',
  'node:http',
  'node:https',
  'node:http2',
  'node:dgram',
  'node:tls',
  'node:fs',
  'node:fs/promises',
  'node:child_process',
  'node:cluster',
];
const LIBS_IO = ['fastify', 'kysely', 'better-sqlite3', 'pg', 'undici', 'pino', 'prom-client', 'commander'];

/** Builds a no-restricted-imports rule forbidding the named folders (relative to src/). */
function forbid(folders, extra = []) {
  return {
    'no-restricted-imports': [
      'error',
      {
        paths: extra.map((name) => ({ name, message: 'This layer must stay free of I/O (STYLE.md).' })),
        patterns: folders.map((f) => ({
          group: [`**/${f}/*`, `**/${f}`],
          message: `Layer boundary: this folder may not import from src/${f} (DESIGN §6).`,
        })),
      },
    ],
  };
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.tern/**', 'web/vite.config.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { project: './tsconfig.check.json', tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'import-x/no-cycle': 'error',
      'no-console': 'error',
    },
  },
  {
    // The dashboard: the same typed rules, through its own project (DOM, JSX, bundler resolution).
    files: ['web/src/**/*.ts', 'web/src/**/*.tsx'],
    languageOptions: { parserOptions: { project: './web/tsconfig.json', tsconfigRootDir: import.meta.dirname } },
    rules: {
      // The bundle may hold pure core code (shared wording, the time format); of the server's
      // layers it takes types only (e.g. src/api/types.ts), which the build erases.
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: ['analysis', 'store', 'gateway', 'control', 'providers', 'api', 'cli', 'net'].map((f) => ({
            group: [`**/src/${f}/*`, `**/src/${f}`],
            allowTypeImports: true,
            message: `The dashboard imports only types from src/${f} (import type): server code must not reach the bundle.`,
          })),
        },
      ],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: forbid(['analysis', 'store', 'gateway', 'control', 'providers', 'api', 'cli'], [...NODE_IO, ...LIBS_IO]),
  },
  { files: ['src/analysis/**/*.ts'], rules: forbid(['store', 'gateway', 'control', 'providers', 'api', 'cli'], [...NODE_IO, ...LIBS_IO]) },
  { files: ['src/store/**/*.ts'], rules: forbid(['gateway', 'control', 'providers', 'api', 'cli']) },
  // net: TLS listeners and clients shared by the gateway, the API and the CLI; it sits below them all.
  { files: ['src/net/**/*.ts'], rules: forbid(['analysis', 'store', 'gateway', 'control', 'providers', 'api', 'cli']) },
  { files: ['src/gateway/**/*.ts'], rules: forbid(['store', 'control', 'providers', 'api', 'cli']) },
  { files: ['src/providers/**/*.ts'], rules: forbid(['store', 'control', 'api', 'cli']) },
  { files: ['src/control/**/*.ts'], rules: forbid(['api', 'cli']) },
  { files: ['src/api/**/*.ts'], rules: forbid(['cli']) },
  { files: ['src/cli/**/*.ts', 'bench/**/*.ts', 'test/**/*.ts', 'scripts/**/*.ts'], rules: { 'no-console': 'off' } },
  {
    files: ['**/*.test.ts', 'test/**/*.ts'],
    rules: {
      // node:test's describe/it return promises the runner awaits itself.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }] },
      ],
    },
  },
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
  {
    // Plain-JavaScript fixtures run by node directly (they start in milliseconds, no loader).
    files: ['test/fixtures/**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', Buffer: 'readonly' } },
    rules: { 'no-console': 'off' },
  },
);
