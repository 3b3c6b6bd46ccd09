import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { minVersion, satisfies } from 'semver';
import { WORKSPACE_ROOT } from '@audience-bridge/harness';

// The Node versions README and `engines` promise are the ones every installed package supports: a user on
// the oldest of them never meets a package that refuses it at runtime (npm only warns at install).
describe('supported Node range', () => {
  const rootPackage = JSON.parse(readFileSync(join(WORKSPACE_ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
  const lock = JSON.parse(readFileSync(join(WORKSPACE_ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { engines?: { node?: string } | string[] }>;
  };
  const oldest = minVersion(rootPackage.engines.node)?.version as string;

  it('is stated once, and Dockerfile and CI use a version inside it', () => {
    expect(oldest).toBe('20.19.0');
    const dockerfile = readFileSync(join(WORKSPACE_ROOT, 'Dockerfile'), 'utf8');
    for (const [, major] of dockerfile.matchAll(/^FROM node:(\d+)/gm)) expect(satisfies(`${major}.99.0`, rootPackage.engines.node)).toBe(true);
    expect(satisfies(process.versions.node, rootPackage.engines.node)).toBe(true);
  });

  it('holds for every package in the lock file', () => {
    const refusing = Object.entries(lock.packages)
      .filter(([path]) => path.includes('node_modules/'))
      .flatMap(([path, meta]) => {
        const range = !Array.isArray(meta.engines) ? meta.engines?.node : undefined;
        return range && !satisfies(oldest, range, { includePrerelease: true }) ? [`${path.split('node_modules/').pop()} wants node ${range}`] : [];
      });
    expect(refusing).toEqual([]);
  });
});
