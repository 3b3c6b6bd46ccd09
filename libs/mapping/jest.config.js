module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'mapping',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
};
