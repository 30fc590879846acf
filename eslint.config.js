// Lint rules from the house style: promises are awaited or handled, and type-only imports say so.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'cdk/cdk.out/**', 'out/**', '.venv/**', 'models/**', 'test/fixtures/**'] },
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'cdk/**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
);
