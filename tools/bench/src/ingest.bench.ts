import { performance } from 'node:perf_hooks';
import { startFakeIterable } from '@audience-bridge/fake-iterable';
import { INBOUND_TOKEN, membershipMessage, startStack } from '@audience-bridge/harness';
import { createPoster } from './http-client';
import { fmt, quantile, table } from './stats';

// npm run bench:ingest — mParticle's side of the load: SENDERS concurrent senders posting membership
// messages of PROFILES profiles each to the real API (built, as a process) on PostgreSQL, with the worker
// delivering to the fake Iterable (limited to ITERABLE_LIMIT requests/s) and Redis beside it on this
// machine. Prints the acknowledgement latency and the accepted rate.
const SENDERS = Number(process.env['BENCH_SENDERS'] ?? 16);
const PROFILES = Number(process.env['BENCH_PROFILES'] ?? 50);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 20);
const WARMUP_SECONDS = 3;
const API_PROCESSES = Number(process.env['API_PROCESSES'] ?? 2);
/** BENCH_WORKER=0 measures the API alone (no delivery competing for the two cores). */
const WITH_WORKER = process.env['BENCH_WORKER'] !== '0';
const ITERABLE_LIMIT = Number(process.env['BENCH_ITERABLE_LIMIT'] ?? 20);
const API_KEY = 'bench-iterable-key-0000000000000000';
const DRIVER = (process.env['BENCH_DB'] ?? 'postgres') as 'postgres' | 'sqlite';

async function main(): Promise<void> {
  const fake = await startFakeIterable();
  const project = fake.state.createProject({ apiKey: API_KEY, type: 'hybrid', dataCenter: 'US' });
  const lists = Array.from({ length: 4 }, (_, i) => fake.state.createList(project, `ingest-${i}`).id);
  fake.state.setConfig({ maxLoggedRequests: 1000 });
  fake.state.setFaults({ rateLimit: { requestsPerSecond: ITERABLE_LIMIT, retryAfterSeconds: 1 } });
  const stack = await startStack(DRIVER, {
    LOG_LEVEL: 'warn',
    API_PROCESSES: String(API_PROCESSES),
    ITERABLE_API_BASE_URL: fake.url,
    ITERABLE_REQUESTS_PER_SECOND: String(ITERABLE_LIMIT),
  });
  if (WITH_WORKER) await stack.startWorker({ LOG_LEVEL: 'warn' });
  try {
    const post = createPoster(stack.apiUrl, SENDERS);
    let sequence = 0;
    const nextBody = () => {
      const n = sequence++;
      const profiles = Array.from({ length: PROFILES }, (_, i) => {
        const user = (n * PROFILES + i) % 200_000;
        return {
          mpid: String(1_000_000 + user),
          email: `user${user}@example.com`,
          customerId: `c${user}`,
          audiences: [{ audienceId: 1 + (user % 4), listId: lists[user % 4], action: (n + i) % 5 === 0 ? ('delete' as const) : ('add' as const) }],
        };
      });
      return JSON.stringify(membershipMessage(`bench-${n}`, 1_700_000_000_000 + n, profiles, { accountId: 1, apiKey: API_KEY }));
    };

    const latencies: number[] = [];
    const statuses = new Map<number, number>();
    let measuring = false;
    let firstError: string | undefined;
    let stop = false;
    const sender = async () => {
      while (!stop) {
        const body = nextBody();
        const started = performance.now();
        const res = await post('/v1/mparticle', body, { authorization: `Token ${INBOUND_TOKEN}` });
        const ms = performance.now() - started;
        if (res.status !== 200 && firstError === undefined) firstError = `${res.status} ${res.body.slice(0, 300)}`;
        if (measuring) {
          latencies.push(ms);
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        }
      }
    };
    const senders = Array.from({ length: SENDERS }, sender);
    await new Promise((r) => setTimeout(r, WARMUP_SECONDS * 1000));
    measuring = true;
    const started = performance.now();
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    measuring = false;
    const elapsed = (performance.now() - started) / 1000;
    stop = true;
    await Promise.all(senders);

    latencies.sort((a, b) => a - b);
    const ok = statuses.get(200) ?? 0;
    process.stdout.write(
      table(`ingest benchmark (${DRIVER}, API_PROCESSES=${API_PROCESSES}, ${WITH_WORKER ? `worker delivering to the fake Iterable at ${ITERABLE_LIMIT} requests/s` : 'no worker'}, ${SENDERS} senders × ${PROFILES} profiles/message, ${SECONDS} s after ${WARMUP_SECONDS} s warm-up)`, [
        ['messages acknowledged', `${ok} (${fmt(ok / elapsed)} /s)`],
        ['accepted changes/s', fmt((ok * PROFILES) / elapsed, 0)],
        ['ack p50', `${fmt(quantile(latencies, 0.5))} ms`],
        ['ack p95', `${fmt(quantile(latencies, 0.95))} ms`],
        ['ack p99', `${fmt(quantile(latencies, 0.99))} ms`],
        ['ack max', `${fmt(latencies[latencies.length - 1] ?? Number.NaN)} ms`],
        ['non-200 answers', String([...statuses].filter(([s]) => s !== 200).reduce((n, [, c]) => n + c, 0))],
      ]) + '\n',
    );
    if (firstError) {
      const logged = stack.api.output().split('\n').find((line) => /ERROR/.test(line));
      process.stdout.write(`  first error answer: ${firstError}\n  API log: ${logged ?? '(none)'}\n`);
    }
  } finally {
    await stack.stop();
    await fake.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:ingest failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
