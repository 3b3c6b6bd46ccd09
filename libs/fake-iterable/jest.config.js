module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'fake-iterable',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
};
