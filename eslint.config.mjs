// Type-aware linting (typescript-eslint's recommendedTypeChecked) of the TypeScript sources: client, server, tests
// and scripts. Formatting is prettier's (`npm run lint:format`), so no stylistic rules here. Rules are switched off
// or narrowed only where the code does on purpose what they forbid; each says why.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      '.snap/**',
      'node_modules/**',
      'examples/**',
      'test/fixtures/**',
      'bench/**',
      'test-output/**',
      'media/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // node:test's test() and describe() return promises the runner awaits itself.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] },
          ],
        },
      ],
      // Messages interpolate caught errors (`unknown`) and numbers; String() around each would say nothing more.
      '@typescript-eslint/restrict-template-expressions': 'off',
      // A comment between two case labels (why they share a body) is not a fall-through from one body into another.
      'no-fallthrough': ['error', { allowEmptyCase: true }],
      // The reports strip control characters from C text on purpose.
      'no-control-regex': 'off',
    },
  },
  {
    // Tests read JSON from child processes, servers and reports: untyped by nature, checked by their assertions.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['**/*.mjs', '**/*.js', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: globals.node },
  },
  {
    // bin/lockpath.js and the manual VS Code check are CommonJS scripts.
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Runs page.evaluate() callbacks in the browser.
    files: ['test/lsp/manual/*.cjs'],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    rules: { 'no-empty': ['error', { allowEmptyCatch: true }] },
  },
);
