import type { ChildProcess } from 'node:child_process';
import { fork } from 'node:child_process';
import { join } from 'node:path';

import { Redis } from 'ioredis';

import type { RunningFakeIterable } from './testing/fake-iterable.harness';
import { startFakeIterable, testApiKey } from './testing/fake-iterable.harness';
import type { LimiterLoadReport, LimiterLoadStart } from './testing/limiter-load.child';
import { deleteKeysUnder, TEST_REDIS_URL, uniquePrefix } from './testing/redis.harness';

// Two real node processes share one Redis-backed limiter. Each child runs the TypeScript sources of this lib
// (IterableClient + IterableRateLimiter) through testing/register-ts.cjs, which compiles .ts with @swc/core on
// require: no build step, no extra package.
const CHILD = join(__dirname, 'testing', 'limiter-load.child.ts');
const REGISTER = join(__dirname, 'testing', 'register-ts.cjs');

interface Worker {
  child: ChildProcess;
  run(start: LimiterLoadStart): Promise<LimiterLoadReport>;
}

function startWorker(): Promise<Worker> {
  const child = fork(CHILD, [], { execArgv: ['--require', REGISTER], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('child process did not start')), 8000);
    child.once('error', reject);
    child.once('message', (message: { type: string }) => {
      clearTimeout(timer);
      if (message.type !== 'ready') return reject(new Error(`unexpected first message ${JSON.stringify(message)}`));
      resolve({
        child,
        run: (start) =>
          new Promise((resolveRun, rejectRun) => {
            child.once('message', (reply: { type: string; report: LimiterLoadReport }) => resolveRun(reply.report));
            child.once('exit', (code) => rejectRun(new Error(`child exited (${code}) before reporting`)));
            child.send(start);
          }),
      });
    });
  });
}

describe('IterableRateLimiter across two processes sharing Redis', () => {
  let fake: RunningFakeIterable;
  let redis: Redis;
  let workers: Worker[] = [];
  let prefix: string;

  beforeAll(async () => {
    fake = await startFakeIterable();
    redis = new Redis(TEST_REDIS_URL);
  });
  afterAll(async () => {
    await fake.close();
    await redis.quit();
  });
  beforeEach(async () => {
    prefix = uniquePrefix('multiprocess');
    workers = await Promise.all([startWorker(), startWorker()]);
  });
  afterEach(async () => {
    for (const { child } of workers) if (child.exitCode === null) child.kill();
    await deleteKeysUnder(redis, prefix);
  });

  /** Runs both children from the same instant; answers what the fake saw inside the window, per child. */
  async function runBoth(settings: Omit<LimiterLoadStart, 'tag' | 'url' | 'apiKey' | 'listId' | 'redisUrl' | 'keyPrefix' | 'startAt'>) {
    const apiKey = testApiKey('multi');
    const listId = fake.state.createList(fake.state.createProject({ apiKey, type: 'hybrid' }), 'load').id;
    const startAt = Date.now() + 300;
    const common = { url: fake.url, apiKey, listId, redisUrl: TEST_REDIS_URL, keyPrefix: prefix, startAt, ...settings };
    const reports = await Promise.all(workers.map((w, i) => w.run({ ...common, tag: `p${i}` })));
    const inWindow = fake.state.requests.filter(
      (r) => r.apiKey === apiKey && r.apiPath === '/api/lists/subscribe' && r.timeMs >= startAt && r.timeMs < startAt + settings.durationMs,
    );
    const perChild = ['p0', 'p1'].map((tag) => inWindow.filter((r) => JSON.stringify(r.body).includes(`"${tag}-`)).length);
    return { apiKey, reports, total: inWindow.length, perChild };
  }

  it('holds the configured rate summed over both processes, and both make progress', async () => {
    const requestsPerSecond = 20;
    const durationMs = 3000;
    const { reports, total, perChild } = await runBoth({ requestsPerSecond, maxConcurrent: 10, loops: 3, durationMs });
    const rate = total / (durationMs / 1000);
    process.stdout.write(
      `[limiter] 2 processes, configured ${requestsPerSecond}/s per key: ${total} calls in ${durationMs} ms = ${rate.toFixed(1)}/s` +
        ` (process A ${perChild[0]}, process B ${perChild[1]})\n`,
    );
    expect(reports.flatMap((r) => r.errors)).toEqual([]);
    expect(rate).toBeLessThanOrEqual(requestsPerSecond * 1.05);
    expect(rate).toBeGreaterThanOrEqual(requestsPerSecond * 0.6);
    for (const count of perChild) expect(count).toBeGreaterThanOrEqual(total * 0.15);
  }, 20_000);

  it('holds the concurrency cap summed over both processes', async () => {
    fake.state.setFaults({ slow: { delayMs: 150 } });
    try {
      // The semaphore polls and is not fair: on a loaded machine one process can hold every slot for a
      // while, so this checks the cap across processes, and the rate test above checks both make progress.
      const { apiKey, reports, total } = await runBoth({ requestsPerSecond: 200, maxConcurrent: 3, loops: 4, durationMs: 1500 });
      const { maxInFlight, requests } = fake.state.statsFor(apiKey);
      process.stdout.write(`[limiter] 2 processes × 4 loops, cap 3: max in flight at the fake ${maxInFlight}, ${requests} calls\n`);
      expect(reports.flatMap((r) => r.errors)).toEqual([]);
      expect(maxInFlight).toBe(3);
      expect(total).toBeGreaterThan(3);
    } finally {
      fake.state.setFaults({});
    }
  }, 20_000);
});
