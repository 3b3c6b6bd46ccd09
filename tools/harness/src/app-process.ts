import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** The repository root, from src/ (tests) or dist/ (built). */
export const WORKSPACE_ROOT = join(__dirname, '../../..');

/** A port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Polls `url` until it answers 200; rejects after `timeoutMs` or when `proc` exits first. */
export async function waitForHttp(url: string, proc: AppProcess, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited: number | string | undefined;
  void proc.exited.then((code) => (exited = code));
  while (Date.now() < deadline) {
    if (exited !== undefined) throw new Error(`process exited (${exited}) before ${url} answered:\n${proc.output()}`);
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms:\n${proc.output()}`);
}

export interface AppProcess {
  child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves when a line matching `pattern` appears; rejects after `timeoutMs` or when the process exits first. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/** Runs a built app (`dist/apps/<name>/main.js`) as its own process, the way `npm run start:<name>` does. */
export function startApp(name: 'api' | 'worker', env: Record<string, string>, options: { cwd?: string } = {}): AppProcess {
  const main = join(WORKSPACE_ROOT, 'dist/apps', name, 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first (npm test does)`);
  assertFreshBuild(name);
  // BENCH_CPU_PROF=<dir>: the app writes a V8 CPU profile there when it exits (the benchmarks' "where it goes").
  const profile = process.env['BENCH_CPU_PROF'] ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_CPU_PROF']}`] : [];
  const child = spawn(process.execPath, [...profile, main], {
    cwd: options.cwd ?? WORKSPACE_ROOT,
    env: { PATH: process.env['PATH'] ?? '', NODE_ENV: 'test', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const listeners = new Set<() => void>();
  const append = (chunk: Buffer) => {
    output += chunk.toString();
    listeners.forEach((l) => l());
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));

  return {
    child,
    output: () => output,
    exited,
    waitFor(pattern, timeoutMs = 20_000) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (pattern.test(output)) {
            cleanup();
            resolve();
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${pattern} in ${name} output:\n${output}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        void exited.then((code) => {
          if (!pattern.test(output)) {
            cleanup();
            reject(new Error(`${name} exited (${code}) before ${pattern}:\n${output}`));
          }
        });
        check();
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

const checked = new Set<string>();

/**
 * End-to-end suites run the built apps, so a source edited after the last build would be tested stale:
 * refuse loudly instead, naming what to rebuild (`npm test` always builds first). Each build writes a hash
 * of the sources it compiled (`scripts/source-stamp.cjs`); this compares it with the sources now.
 */
export function assertFreshBuild(name: 'api' | 'worker', root = WORKSPACE_ROOT): void {
  if (checked.has(`${root}:${name}`)) return;
  const { sourceHash } = require(join(root, 'scripts/source-stamp.cjs')) as { sourceHash(dir: string): string };
  const outputs: [string, string][] = [[join(root, 'apps', name, 'src'), join(root, 'dist/apps', name, '.source-hash')]];
  for (const lib of readdirSync(join(root, 'libs'))) outputs.push([join(root, 'libs', lib, 'src'), join(root, 'libs', lib, 'dist', '.source-hash')]);
  const stale = outputs
    .filter(([src]) => existsSync(src))
    .filter(([src, stamp]) => !existsSync(stamp) || readFileSync(stamp, 'utf8').trim() !== sourceHash(src))
    .map(([src]) => src.slice(root.length + 1));
  if (stale.length > 0) throw new Error(`stale build: ${stale.join(', ')} changed after the last build; run \`npm run build\` (npm test builds first)`);
  checked.add(`${root}:${name}`);
}
