/**
 * The checks that read ../shared (not part of `npm test`, which passes without it): `npm run test:shared`, run by
 * .ci/run after `npm test`. Files end in `.shared-test.ts`.
 */
const base = require('../../jest.config.js');

module.exports = { ...base, rootDir: '../..', roots: ['<rootDir>/test'], testMatch: ['**/*.shared-test.ts'] };
