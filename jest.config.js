/** Tests run against real servers (redis-server, prometheus, Python Celery) started by test/support. */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testTimeout: 60000,
  // The examples import the package by name, as a user's app does; from source it is constructs/.
  moduleNameMapper: { '^cdk8s-redis-keda$': '<rootDir>/constructs/index.ts' },
  // Runtime suites start their own servers; two cores cannot take many at once.
  maxWorkers: 2,
  // tsconfig's isolatedModules makes ts-jest transpile only; `npm run typecheck` checks types.
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: { warnOnly: false } }] },
};
