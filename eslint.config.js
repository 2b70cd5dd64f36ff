// Lint rules. The one project-specific rule: core/ is pure (no I/O libraries),
// so every path (stream, backfill, training, serving) can share it.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ioModules = ['kafkajs', 'ioredis', '@clickhouse/client', 'graphql', 'graphql-yoga', 'bullmq', 'pino',
  'prom-client', 'node:fs', 'fs', 'node:net', 'net', 'node:http', 'http', 'node:child_process', 'child_process',
  'node:fs/promises', 'fs/promises'];

export default tseslint.config(
  { ignores: ['node_modules/**', '.tessera/**', 'dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: ioModules.map((name) => ({ name, message: 'core/ is pure: no I/O imports' })),
        patterns: [{ group: ['../streams/*', '../store/*', '../offline/*', '../api/*', '../config/*'], message: 'core/ depends on nothing else in Tessera' }],
      }],
    },
  },
  { files: ['bin/*.js', 'scripts/*.mjs'], languageOptions: { globals: { process: 'readonly', console: 'readonly' } } },
);
