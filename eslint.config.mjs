// Lint rules that enforce what the README's design section promises: no `any`, no floating
// promises, nothing but config reading process.env, files small enough to read, and imports that
// only go down the layers (see the "Design" section of README.md).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

// The layers, top to bottom: workers → main → runtime (composition) → http → pipeline → channels →
// store → push, email → config → model. A file may import the layers below its own, and the
// small shared modules at the top of src/ (errors, log, schemas, bits, tokens…). `services`
// (the Domain bag the composition builds) may be imported for its types only.
const UPPER = { runtime: '**/runtime', main: '**/main', workerHttp: '**/worker-*', secrets: '**/secrets' };
const above = {
  http: [UPPER.runtime, UPPER.main, UPPER.workerHttp],
  pipeline: ['**/http/*', '**/http', UPPER.runtime, UPPER.main],
  channels: ['**/http/*', '**/pipeline/*', UPPER.runtime, UPPER.main],
  store: ['**/http/*', '**/pipeline/*', '**/channels/*', UPPER.runtime, UPPER.main],
  lib: ['**/http/*', '**/pipeline/*', '**/channels/*', '**/store/*', UPPER.runtime, UPPER.main, UPPER.secrets],
  config: [
    '**/http/*',
    '**/pipeline/*',
    '**/channels/*',
    '**/store/*',
    '**/push/*',
    '**/email/*',
    UPPER.runtime,
    UPPER.main,
    UPPER.secrets,
  ],
};
const LAYERS = [
  { files: ['src/http/**/*.ts'], banned: above.http },
  // The inbound SMTP listener stands beside http: a protocol front door over the pipeline.
  { files: ['src/inbound/*.ts'], banned: [...above.http, '**/http/*', '**/http'] },
  { files: ['src/pipeline/*.ts'], banned: above.pipeline },
  { files: ['src/channels/*.ts'], banned: above.channels },
  { files: ['src/store/*.ts'], banned: above.store },
  { files: ['src/push/*.ts', 'src/email/*.ts'], banned: above.lib },
  { files: ['src/config/*.ts', 'src/model.ts'], banned: above.config },
  // The CLI is a client of the API: it may share schemas, config and keys, never the service's insides.
  { files: ['src/cli/*.ts'], banned: [...above.store, '**/store/*', '**/push/*', '**/email/*', UPPER.workerHttp] },
];

const layerRules = LAYERS.map(({ files, banned }) => ({
  files,
  rules: {
    '@typescript-eslint/no-restricted-imports': [
      'error',
      {
        patterns: [
          { group: banned, message: 'imports go down the layers only (README, Design)' },
          { group: ['**/services'], allowTypeImports: true, message: 'only the Domain type comes from services' },
          { group: ['**/workers/*', '**/workers'], message: 'src/ never imports workers/' },
          { group: ['express'], message: 'only src/http speaks HTTP' },
        ],
      },
    ],
  },
}));
// src/http may use express; every layer rule above bans it, so http gets its own list without it.
layerRules[0].rules['@typescript-eslint/no-restricted-imports'][1].patterns.pop();

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
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', name: ['test', 'describe', 'it', 'suite'], package: 'node:test' }] },
      ],
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
    files: ['bin/**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
  },
  {
    files: ['templates/public/sw.js'],
    languageOptions: { sourceType: 'script' },
  },
);
