// Plain CommonJS, so that no Node version tries to load the config as TypeScript or ESM.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  // Fails any test file in which a promise rejection went unhandled (see the file).
  setupFilesAfterEnv: ['<rootDir>/__tests__/helpers/no-unhandled-rejections.ts'],
  testTimeout: 30_000,
};
