import { performance } from 'node:perf_hooks';
import { startFakeIterable } from '@audience-bridge/fake-iterable';
import { membershipMessage, startStack } from '@audience-bridge/harness';
import { fmt, quantile, table } from './stats';

// npm run bench:delivery — the worker's side: a backlog of CHANGES membership changes (accepted through
// the real API while no worker runs) over LISTS lists of one Iterable project, then the worker drains it
// against the fake Iterable limited to LIMIT requests/s (a 429 past that). Then lone changes on the idle
// system: the time from mParticle's acknowledgement to the fake Iterable receiving the change.
const CHANGES = Number(process.env['BENCH_CHANGES'] ?? 100_000);
const LISTS = Number(process.env['BENCH_LISTS'] ?? 10);
const LIMIT = Number(process.env['BENCH_ITERABLE_LIMIT'] ?? 20);
const LONE = Number(process.env['BENCH_LONE_CHANGES'] ?? 20);
const DRIVER = (process.env['BENCH_DB'] ?? 'postgres') as 'postgres' | 'sqlite';
const PROFILES_PER_MESSAGE = 50;
const ACCOUNT = 1;
const API_KEY = 'bench-iterable-key-0000000000000000';

async function main(): Promise<void> {
  const fake = await startFakeIterable();
  const project = fake.state.createProject({ apiKey: API_KEY, type: 'hybrid', dataCenter: 'US' });
  const lists = Array.from({ length: LISTS }, (_, i) => fake.state.createList(project, `bench-${i}`).id);
  fake.state.setConfig({ maxLoggedRequests: 1_000_000 });
  fake.state.setFaults({ rateLimit: { requestsPerSecond: LIMIT, retryAfterSeconds: 1 } });
  const stack = await startStack(DRIVER, {
    LOG_LEVEL: 'warn',
    API_PROCESSES: '2',
    ITERABLE_API_BASE_URL: fake.url,
    ITERABLE_REQUESTS_PER_SECOND: process.env['BENCH_CLIENT_LIMIT'] ?? String(LIMIT),
    ITERABLE_MAX_CONCURRENT: String(LISTS),
    WORKER_CONCURRENCY: String(LISTS),
  });
  try {
    // 1. The backlog, through the API, with no worker running.
    const started = performance.now();
    const messages = Math.ceil(CHANGES / PROFILES_PER_MESSAGE);
    for (let m = 0; m < messages; m += 16) {
      await Promise.all(
        Array.from({ length: Math.min(16, messages - m) }, async (_, k) => {
          const n = m + k;
          const profiles = Array.from({ length: PROFILES_PER_MESSAGE }, (_, i) => {
            const user = n * PROFILES_PER_MESSAGE + i;
            return { mpid: String(10_000_000 + user), email: `u${user}@example.com`, customerId: `c${user}`, audiences: [{ audienceId: 1 + (user % LISTS), listId: lists[user % LISTS], action: 'add' as const }] };
          });
          const res = await stack.send(membershipMessage(`backlog-${n}`, 1_700_000_000_000 + n, profiles, { accountId: ACCOUNT, apiKey: API_KEY }));
          if (res.status !== 200) throw new Error(`backlog message answered ${res.status}`);
        }),
      );
    }
    const backlogSeconds = (performance.now() - started) / 1000;
    fake.state.requests.length = 0;

    // 2. The drain.
    const drainStarted = performance.now();
    await stack.startWorker({ LOG_LEVEL: 'warn' });
    await stack.settled(ACCOUNT, 600_000);
    const drainSeconds = (performance.now() - drainStarted) / 1000;
    const settledAt = Date.now();
    const calls = fake.state.requests.filter((r) => r.apiPath === '/api/lists/subscribe');
    // From the worker's first call to the last change settled: the drain itself, without process start-up.
    const firstCallAt = Math.min(...calls.map((r) => r.timeMs));
    const deliverySeconds = (settledAt - firstCallAt) / 1000;
    const accepted = calls.filter((r) => r.status === 200);
    const delivered = accepted.reduce((n, r) => n + (r.body as { subscribers: unknown[] }).subscribers.length, 0);
    const members = lists.reduce((n, id) => n + (fake.state.members(id)?.length ?? 0), 0);

    // 3. Lone changes on the idle system.
    const latencies: number[] = [];
    for (let i = 0; i < LONE; i++) {
      const email = `lone${i}@example.com`;
      const sent = performance.now();
      await stack.send(membershipMessage(`lone-${i}`, 1_800_000_000_000 + i, [{ mpid: String(90_000_000 + i), email, audiences: [{ audienceId: 1, listId: lists[0], action: 'add' }] }], { accountId: ACCOUNT, apiKey: API_KEY }));
      while (!fake.state.requests.some((r) => JSON.stringify(r.body).includes(email) && r.status === 200)) await new Promise((r) => setTimeout(r, 5));
      latencies.push(performance.now() - sent);
      await new Promise((r) => setTimeout(r, 300));
    }
    latencies.sort((a, b) => a - b);

    const ceiling = LIMIT * 1000;
    process.stdout.write(
      table(`delivery benchmark (${DRIVER}, ${CHANGES} changes over ${LISTS} lists, fake Iterable limited to ${LIMIT} requests/s)`, [
        ['backlog accepted in', `${fmt(backlogSeconds)} s`],
        ['drained in', `${fmt(drainSeconds)} s from worker start, ${fmt(deliverySeconds)} s from its first call`],
        ['drain rate', `${fmt(delivered / deliverySeconds, 0)} subscribers/s (${fmt((100 * delivered) / deliverySeconds / ceiling)} % of ${LIMIT} × 1000)`],
        ['Iterable calls', `${calls.length} (${calls.length - accepted.length} answered 429 or failed)`],
        ['average batch', `${fmt(delivered / Math.max(1, accepted.length))} subscribers`],
        ['members in Iterable', `${members} of ${CHANGES}`],
        ['lone change p50', `${fmt(quantile(latencies, 0.5), 0)} ms`],
        ['lone change p95', `${fmt(quantile(latencies, 0.95), 0)} ms`],
      ]) + '\n',
    );
  } finally {
    await stack.stop();
    await fake.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:delivery failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
