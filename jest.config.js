/**
 * Jest 30 in native ESM mode; run through `node --experimental-vm-modules` (see package.json).
 * Two projects: `unit` (specs beside their code in lib/) and `e2e` (test/<feature>/, real Nest apps,
 * real redis-server and Chromium). `npm run test:jest` runs both; `--selectProjects unit` one.
 */
const swcConfig = {
  jsc: {
    target: 'es2022',
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
    keepClassNames: true,
  },
  module: { type: 'es6' },
  sourceMaps: 'inline',
};

const common = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: { '^.+\\.ts$': ['@swc/jest', swcConfig] },
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
    // Specs written as a user writes them import the package by name: they get the source.
    '^nestjs-circuit-breaker$': '<rootDir>/lib/index.ts',
    '^nestjs-circuit-breaker/testing/store-contract$': '<rootDir>/lib/testing/store-contract.ts',
    '^nestjs-circuit-breaker/(.*)$': '<rootDir>/lib/$1/index.ts',
  },
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  testTimeout: 30_000,
};

export default {
  projects: [
    { ...common, displayName: 'unit', roots: ['<rootDir>/lib'], testMatch: ['**/*.spec.ts'] },
    { ...common, displayName: 'e2e', roots: ['<rootDir>/test'], testMatch: ['**/*.e2e-spec.ts'] },
  ],
};
