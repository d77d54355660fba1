// ESLint (flat config): the JavaScript and typescript-eslint recommended rules, without type information so that
// `npm run lint` stays fast. Formatting is Prettier's (.prettierrc.json), not ESLint's.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // Generated or built: imports/ (cdk8s import), dist/ (synth), docs/api/ (TypeDoc), lib/ (tsc).
  { ignores: ['imports/', 'dist/', 'docs/api/', 'lib/', 'node_modules/', 'coverage/', '.bench/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // Unused names are tsc's job (noUnusedLocals, noUnusedParameters); `_name` marks a deliberate one.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // The synthesized manifests tests read, and the objects e2e reads back from the API server, are untyped JSON.
    files: ['test/**/*.ts', 'e2e/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // They load the user's handler or task module by a path known only at run time.
    files: ['runtime/queue/handler.ts', 'runtime/celery/tasks.ts'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // CommonJS modules: handlers and task modules loaded by the CLI, jest.config.js.
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
