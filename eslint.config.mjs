// Lint rules that enforce what the README's design section promises: no `any`, no floating
// promises, nothing but config reading process.env, files small enough to read, and imports that
// only go down the layers (see the "Design" section of README.md).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

/** Folders of src/ and what each may not import: the layer rule, written once. */
const LAYERS = {
  // The domain's vocabulary and the configuration depend on nothing of ours.
  'src/model.ts': ['**/store/**', '**/http/**', '**/pipeline/**', '**/channels/**', '**/push/**', '**/email/**', '**/runtime', '**/services'],
  'src/config/**': ['**/store/**', '**/http/**', '**/pipeline/**', '**/channels/**', '**/runtime', '**/services'],
  'src/store/**': ['**/http/**', '**/pipeline/**', '**/channels/**', '**/runtime', '**/services', 'express'],
  'src/push/**': ['**/http/**', '**/pipeline/**', '**/channels/**', '**/runtime', '**/services', 'express'],
  'src/email/**': ['**/http/**', '**/pipeline/**', '**/channels/**', '**/runtime', '**/services', 'express'],
  'src/channels/**': ['**/http/**', '**/pipeline/**', '**/runtime', '**/services', 'express'],
  'src/pipeline/**': ['**/http/**', '**/runtime', 'express'],
  'src/http/**': ['**/runtime'],
};

const layerRules = Object.entries(LAYERS).map(([files, banned]) => ({
  files: [files.endsWith('.ts') ? files : `${files}/*.ts`],
  rules: {
    'no-restricted-imports': ['error', { patterns: [{ group: banned, message: 'imports go down the layers only (README, Design)' }, { group: ['**/workers/**', '../workers/*', '../../workers/*'], message: 'src/ never imports workers/' }] }],
  },
}));

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '**/*.d.ts'] },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [...tseslint.configs.strictTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: globals.node,
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Template literals with numbers are how we build keys and messages; keep them readable.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // `void promise` marks a deliberate fire-and-forget (logged elsewhere).
      '@typescript-eslint/no-confusing-void-expression': 'off',
      // Non-null assertions document invariants the type system cannot see (regex groups, maps filled just above).
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unnecessary-condition': 'off',
      '@typescript-eslint/no-extraneous-class': 'off',
      '@typescript-eslint/no-dynamic-delete': 'off',
      '@typescript-eslint/no-invalid-void-type': 'off',
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'only src/config reads the environment' }],
    },
  },
  {
    files: ['src/**/*.ts', 'workers/**/*.ts'],
    rules: { 'max-lines': ['error', { max: 300, skipBlankLines: true, skipComments: true }] },
  },
  ...layerRules,
  {
    // The configuration is the one place that reads the environment; tests and benchmarks set up
    // environments for the processes they start.
    files: ['src/config/**/*.ts', 'src/config.ts', 'tests/**/*.ts', 'bench/**/*.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    files: ['tests/**/*.ts', 'bench/**/*.ts'],
    rules: {
      // node:test's test() returns a promise the runner awaits itself.
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', name: ['test', 'describe', 'it', 'suite'], package: 'node:test' }] }],
      // Tests read loosely typed JSON answers and print them in assertion messages.
      '@typescript-eslint/no-base-to-string': 'off',
      // Callbacks handed to helpers that expect a promise (page.evaluate, waitFor) may not await.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['public/**/*.js', 'templates/public/**/*.js'],
    languageOptions: { sourceType: 'module', globals: { ...globals.browser, ...globals.serviceworker } },
  },
  {
    files: ['templates/public/sw.js'],
    languageOptions: { sourceType: 'script' },
  },
);
