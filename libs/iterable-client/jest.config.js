module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'iterable-client',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
};
