// ESLint flat config: typescript-eslint's type-aware recommended rules for TypeScript, ESLint's
// recommended rules for the CommonJS scripts. Formatting is Prettier's (`npm run lint` runs both).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'coverage/',
      'docs/api/',
      'node_modules/',
      '.bench-out/',
      'bench/profiles/',
      '.ci/node/',
      'src/settings/validate-settings.generated.ts',
      'examples/*/node_modules/',
    ],
  },
  js.configs.recommended,
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
    rules: { 'no-unused-vars': ['error', { ignoreRestSiblings: true, varsIgnorePattern: '^_' }] },
  },
  { files: ['**/*.mjs'], languageOptions: { sourceType: 'module' } },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true, varsIgnorePattern: '^_' }],
      // The code writes `items[i]!` on purpose; without noUncheckedIndexedAccess the rule calls each one unnecessary.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // Class state is #private, so that util.inspect, console.log or JSON.stringify of an object show none of it
      // (write keys included); `private` only hides it from the compiler.
      'no-restricted-syntax': [
        'error',
        {
          selector: ':matches(PropertyDefinition, MethodDefinition, TSParameterProperty, AccessorProperty)[accessibility="private"]',
          message: 'Use an ECMAScript #private member, not the TypeScript private keyword (node scripts/hash-private.js FILE converts).',
        },
      ],
    },
  },
  {
    // Tests and benchmarks read parsed JSON (any), hand jest mocked methods around, and stub async interfaces synchronously.
    files: ['__tests__/**', 'bench/**'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/require-await': 'off',
      // A test rejects with a non-Error on purpose: hosts' config sources may.
      '@typescript-eslint/prefer-promise-reject-errors': 'off',
    },
  },
);
