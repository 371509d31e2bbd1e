import type { Config } from 'jest';

const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  // Fails any test file in which a promise rejection went unhandled (see the file).
  setupFilesAfterEnv: ['<rootDir>/__tests__/helpers/no-unhandled-rejections.ts'],
  testTimeout: 30_000,
};

export default config;
