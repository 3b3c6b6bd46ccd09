// The model checker: the reference model's own tests, and fixed seeds run against the built apps on both drivers.
module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'model-check',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
};
