// Prints the closing line CI reads, `N passed, N failed`, summed over every Jest project's --json output
// (`.jest-results/<project>.json`, written by each project's Nx `test` target). A project that has a
// jest.config.js but wrote no results (lint, typecheck or build failed first, or Jest crashed) counts as a failure.
const fs = require('node:fs');
const path = require('node:path');

const [dir, status] = process.argv.slice(2);
const root = path.join(__dirname, '..');
const projects = ['apps', 'libs', 'tools'].flatMap((group) =>
  fs.existsSync(path.join(root, group))
    ? fs
        .readdirSync(path.join(root, group))
        .filter((name) => fs.existsSync(path.join(root, group, name, 'jest.config.js')))
        .map((name) => JSON.parse(fs.readFileSync(path.join(root, group, name, 'project.json'), 'utf8')).name)
    : [],
);

let passed = 0;
let failed = 0;
let suites = 0;
let skipped = 0;
for (const project of projects) {
  const file = path.join(dir, `${project}.json`);
  if (!fs.existsSync(file)) {
    console.log(`ci: ${project}: no test results (npm test exited ${status} before its Jest run finished)`);
    failed += 1;
    continue;
  }
  const r = JSON.parse(fs.readFileSync(file, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests + r.numRuntimeErrorTestSuites;
  suites += r.numTotalTestSuites;
  skipped += r.numPendingTests;
}
console.log(`ci: ${projects.length} Jest projects, ${suites} suites, ${skipped} skipped`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
