// Shared Jest settings for every project in the workspace.
// NestJS 12 ships ESM only; Jest on Node 20 cannot require ESM, so @nestjs/* (and the ESM
// packages it pulls in) are transformed to CommonJS by swc like our own TypeScript.
const path = require('node:path');

module.exports = {
  testEnvironment: 'node',
  // Jest's 5 s default: a hook that creates and migrates a PostgreSQL database, or a test that runs the migrate CLI,
  // took longer than that on a busy 2-core machine (7 timeouts in one run of 2026-12-07). A test that hangs still fails.
  testTimeout: 15_000,
  transform: {
    '^.+\\.(ts|js|mjs)$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          keepClassNames: true,
          target: 'es2022',
        },
        module: { type: 'commonjs' },
      },
    ],
  },
  transformIgnorePatterns: ['/node_modules/(?!(@nestjs|file-type|strtok3|token-types|@tokenizer|uint8array-extras|load-esm)/)'],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
  // Tests use library sources directly, so a test run never depends on a stale build.
  moduleNameMapper: {
    '^@audience-bridge/([a-z-]+)$': [path.join(__dirname, 'libs/$1/src/index.ts'), path.join(__dirname, 'tools/$1/src/index.ts')],
    // A library's test helpers: its `testing` entry point (never in its main entry or a production image).
    '^@audience-bridge/([a-z-]+)/testing$': path.join(__dirname, 'libs/$1/src/testing/index.ts'),
  },
};
