import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WORKSPACE_ROOT } from '@audience-bridge/harness';
import * as persistence from '@audience-bridge/persistence';
import * as persistenceTesting from '@audience-bridge/persistence/testing';

// DESIGN.md: dependencies point down only, the apps never import each other, `domain` imports nothing.
// Each case runs the workspace's real `eslint` on a source text as if it were a file at the given path.
function boundaryErrors(file: string, source: string): string[] {
  const eslint = join(WORKSPACE_ROOT, 'node_modules/.bin/eslint');
  const run = spawnSync(eslint, ['--stdin', '--stdin-filename', join(WORKSPACE_ROOT, file), '--format', 'json'], {
    cwd: WORKSPACE_ROOT,
    input: source,
    encoding: 'utf8',
  });
  const [result] = JSON.parse(run.stdout) as { messages: { ruleId: string | null; message: string }[] }[];
  return result.messages.filter((m) => m.ruleId === '@nx/enforce-module-boundaries').map((m) => m.message);
}

describe('module boundaries are enforced by lint', () => {
  it.each([
    ['domain importing another library', 'libs/domain/src/forbidden.ts', "import { coalesce } from '@audience-bridge/mapping';\nexport const x = coalesce;\n"],
    ['domain importing Nest', 'libs/domain/src/forbidden.ts', "import { Injectable } from '@nestjs/common';\nexport const x = Injectable;\n"],
    [
      'the API importing the worker',
      'apps/api/src/forbidden.ts',
      "import { WorkerModule } from '../../worker/src/app/worker.module';\nexport const x = WorkerModule;\n",
    ],
    [
      'the worker importing the API',
      'apps/worker/src/forbidden.ts',
      "import { ApiModule } from '../../api/src/app/api.module';\nexport const x = ApiModule;\n",
    ],
    [
      'a library importing an app',
      'libs/mapping/src/forbidden.ts',
      "import { ApiModule } from '../../../apps/api/src/app/api.module';\nexport const x = ApiModule;\n",
    ],
    [
      'production code of a library importing the fake Iterable',
      'libs/iterable-client/src/forbidden.ts',
      "import { startFakeIterable } from '@audience-bridge/fake-iterable';\nexport const x = startFakeIterable;\n",
    ],
    [
      'production code of the worker importing the fake Iterable',
      'apps/worker/src/forbidden.ts',
      "import { startFakeIterable } from '@audience-bridge/fake-iterable';\nexport const x = startFakeIterable;\n",
    ],
    [
      'a library test importing a tool',
      'libs/persistence/src/forbidden.spec.ts',
      "import { WORKSPACE_ROOT } from '@audience-bridge/harness';\nexport const x = WORKSPACE_ROOT;\n",
    ],
  ])('rejects %s', (_name, file, source) => {
    expect(boundaryErrors(file, source)).not.toEqual([]);
  });

  it.each([
    ['mapping importing domain', 'libs/mapping/src/allowed.ts', "import { supersedes } from '@audience-bridge/domain';\nexport const x = supersedes;\n"],
    [
      "a library's test importing the fake Iterable (the test double)",
      'libs/iterable-client/src/allowed.spec.ts',
      "import { startFakeIterable } from '@audience-bridge/fake-iterable';\nexport const x = startFakeIterable;\n",
    ],
    [
      'a tool importing the fake Iterable',
      'tools/bench/src/allowed.ts',
      "import { startFakeIterable } from '@audience-bridge/fake-iterable';\nexport const x = startFakeIterable;\n",
    ],
  ])('accepts the allowed direction: %s', (_name, file, source) => {
    expect(boundaryErrors(file, source)).toEqual([]);
  });
});

describe('test code stays out of production entry points', () => {
  it('the persistence library exports its database helpers only from @audience-bridge/persistence/testing', () => {
    const main = persistence;
    const testing = persistenceTesting;
    expect(Object.keys(main)).not.toContain('createMigratedDataSource');
    expect(Object.keys(main)).not.toContain('createTestDatabase');
    expect(Object.keys(testing)).toEqual(expect.arrayContaining(['createMigratedDataSource', 'createTestDatabase', 'DRIVERS']));
    // The built main entry (what the apps and the image load) does not reach the testing folder either.
    expect(readFileSync(join(WORKSPACE_ROOT, 'libs/persistence/dist/index.js'), 'utf8')).not.toMatch(/testing/);
  });
});

// Issue 26: no dependency is installed for nothing. Every runtime dependency of package.json is imported by some
// source of the apps, libraries or tools; the only exceptions are peers a framework needs, each with its reason.
describe('every runtime dependency is used', () => {
  const PEERS: Record<string, string> = { rxjs: 'peer dependency of @nestjs/common and @nestjs/core' };
  const sources = (
    spawnSync('git', ['ls-files', '--', 'apps/*.ts', 'apps/*.tsx', 'libs/*.ts', 'tools/*.ts'], { cwd: WORKSPACE_ROOT, encoding: 'utf8' }).stdout ?? ''
  )
    .split('\n')
    .filter(Boolean)
    .map((file) => readFileSync(join(WORKSPACE_ROOT, file), 'utf8'))
    .join('\n');
  const dependencies = Object.keys(
    (JSON.parse(readFileSync(join(WORKSPACE_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies,
  );

  it.each(dependencies.filter((name) => !(name in PEERS)))('%s is imported by the code', (name) => {
    const escaped = name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    expect(new RegExp(`(from|import|require\\()\\s*'${escaped}(/[^']*)?'`).test(sources)).toBe(true);
  });
});
