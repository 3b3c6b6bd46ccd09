module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'mparticle',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
};
