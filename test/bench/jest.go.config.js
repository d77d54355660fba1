/**
 * The checks of our Go programs (they build them with `go build`, so they need Go; not part of `npm test`, which
 * passes without it): `npm run test:go`. Files end in `.go-test.ts`.
 */
const base = require('../../jest.config.js');

module.exports = { ...base, rootDir: '../..', roots: ['<rootDir>/test'], testMatch: ['**/*.go-test.ts'] };
