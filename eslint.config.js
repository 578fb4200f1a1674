// Lint: typescript-eslint's recommended rules over the TypeScript sources.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '.bench-deps/',
      'dist/',
      'node_modules/',
      'models/',
      '.venv/',
      '.e2e/',
      'scratch/',
      'test-results/',
      'runs/',
      'out/',
    ],
  },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
);
