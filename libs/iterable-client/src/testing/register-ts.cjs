// Lets a plain `node` child process, forked by a spec, run this repository's TypeScript sources the way Jest does:
// `.ts` files are compiled on require by @swc/core (already a dev dependency), and `@audience-bridge/<name>`
// resolves to `libs/<name>/src/index.ts` or else `tools/<name>/src/index.ts` (as jest.preset.js maps them).
// Use: fork(child.ts, [], { execArgv: ['--require', thisFile] }).
const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');
const { transformSync } = require('@swc/core');

const workspaceRoot = path.resolve(__dirname, '../../../..');
const originalResolve = Module._resolveFilename;

Module._resolveFilename = function resolveWorkspaceSources(request, ...rest) {
  const match = /^@audience-bridge\/([a-z-]+)$/.exec(request);
  if (match) {
    for (const group of ['libs', 'tools']) {
      const source = path.join(workspaceRoot, group, match[1], 'src', 'index.ts');
      if (fs.existsSync(source)) return source;
    }
  }
  return originalResolve.call(this, request, ...rest);
};

require.extensions['.ts'] = function compileTypeScript(module, filename) {
  const { code } = transformSync(fs.readFileSync(filename, 'utf8'), {
    filename,
    sourceMaps: 'inline',
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022', keepClassNames: true },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};
