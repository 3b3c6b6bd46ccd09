// Prints the closing line CI reads, `N passed, N failed`, from Jest's --json output.
// A run that stopped before Jest (lint, typecheck, build) or ran no test at all counts as a failure.
const fs = require('node:fs');

const [file, status] = process.argv.slice(2);
if (!fs.existsSync(file)) {
  console.log(`ci: no test results (npm test exited ${status} before Jest finished)`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const r = JSON.parse(fs.readFileSync(file, 'utf8'));
const failed = r.numFailedTests + r.numRuntimeErrorTestSuites;
console.log(`ci: ${r.numTotalTestSuites} suites, ${r.numPendingTests} skipped`);
console.log(`${r.numPassedTests} passed, ${failed} failed`);
process.exit(failed === 0 && r.numPassedTests > 0 ? 0 : 1);
