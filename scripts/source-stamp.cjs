// The build stamp: a SHA-256 over the sources a build compiles (every .ts under src/ except *.spec.ts and
// testing/ folders, by path and content). Each build target writes it next to its output; the test harness
// compares it with the sources before starting a built app, so an end-to-end test never runs stale code.
// Content, not modification times: a cache hit restores the stamp of exactly those sources.
//   node scripts/source-stamp.cjs <src dir> <stamp file>
const { createHash } = require('node:crypto');
const { mkdirSync, readdirSync, readFileSync, writeFileSync } = require('node:fs');
const { dirname, join, relative } = require('node:path');

function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'testing' ? [] : sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [path] : [];
  });
}

function sourceHash(dir) {
  const hash = createHash('sha256');
  for (const file of sources(dir).sort()) hash.update(relative(dir, file)).update('\0').update(readFileSync(file)).update('\0');
  return hash.digest('hex');
}

module.exports = { sourceHash };

if (require.main === module) {
  const [src, stamp] = process.argv.slice(2);
  mkdirSync(dirname(stamp), { recursive: true });
  writeFileSync(stamp, `${sourceHash(src)}\n`);
}
