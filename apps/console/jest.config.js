// Component and logic tests of the console: jsdom, React Testing Library, TSX compiled by swc.
module.exports = {
  displayName: 'console',
  rootDir: __dirname,
  testEnvironment: 'jsdom',
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/src/**/*.spec.tsx'],
  transform: {
    '^.+\\.(ts|tsx|js|mjs)$': [
      '@swc/jest',
      {
        jsc: { parser: { syntax: 'typescript', tsx: true }, transform: { react: { runtime: 'automatic' } }, target: 'es2022' },
        module: { type: 'commonjs' },
      },
    ],
  },
  transformIgnorePatterns: ['/node_modules/(?!(@tanstack)/)'],
  moduleNameMapper: { '\\.css$': '<rootDir>/src/testing/style-stub.js' },
  moduleFileExtensions: ['tsx', 'ts', 'js', 'mjs', 'json'],
};
