/**
 * `npm run e2e`: tests on a live control plane (etcd, kube-apiserver, controllers, KWOK, KEDA) built
 * by `npm run e2e:build`. One suite at a time (each starts its own cluster); not part of `npm test`.
 */
module.exports = {
  rootDir: '..',
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/e2e'],
  testMatch: ['**/*.test.ts'],
  testTimeout: 120000,
  maxWorkers: 1,
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: { warnOnly: false } }] },
};
