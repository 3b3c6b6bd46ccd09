import { performance } from 'node:perf_hooks';
import type { DataSource } from 'typeorm';
import { startFakeIterable } from '@audience-bridge/fake-iterable';
import { membershipMessage, startStack } from '@audience-bridge/harness';
import { peakMemoryMiB } from './memory';
import { fmt, quantile } from './stats';

export interface DeliveryOptions {
  changes: number;
  lists: number;
  iterableLimit: number;
  /** The client's own limit (ITERABLE_REQUESTS_PER_SECOND); the fake's by default. */
  clientLimit?: number;
  loneChanges: number;
  driver: 'postgres' | 'sqlite';
}

export interface DeliveryFigures {
  title: string;
  backlogSeconds: number;
  drainSeconds: number;
  deliverySeconds: number;
  subscribersPerSecond: number;
  ofCeiling: number;
  calls: number;
  refused: number;
  averageBatch: number;
  callsPer10k: number;
  members: number;
  /** PostgreSQL bytes per delivered change, per table and in total (tables with their indexes). */
  storage?: Record<string, number>;
  loneP50: number;
  loneP95: number;
  apiPeakMiB: number;
  workerPeakMiB: number;
}

const PROFILES_PER_MESSAGE = 50;
const ACCOUNT = 1;
const API_KEY = 'bench-iterable-key-0000000000000000';

/**
 * The worker's side: a backlog of `changes` accepted through the real API while no worker runs, over
 * `lists` lists of one Iterable project; then the worker drains it against the fake Iterable limited to
 * `iterableLimit` requests/s (429 past that). Then lone changes on the idle system: from mParticle's
 * acknowledgement to the fake receiving the change.
 */
export async function runDelivery(o: DeliveryOptions): Promise<DeliveryFigures> {
  const fake = await startFakeIterable();
  const project = fake.state.createProject({ apiKey: API_KEY, type: 'hybrid', dataCenter: 'US' });
  const lists = Array.from({ length: o.lists }, (_, i) => fake.state.createList(project, `bench-${i}`).id);
  fake.state.setConfig({ maxLoggedRequests: 1_000_000 });
  fake.state.setFaults({ rateLimit: { requestsPerSecond: o.iterableLimit, retryAfterSeconds: 1 } });
  const stack = await startStack(o.driver, {
    LOG_LEVEL: 'warn',
    API_PROCESSES: '2',
    ITERABLE_API_BASE_URL: fake.url,
    ITERABLE_REQUESTS_PER_SECOND: String(o.clientLimit ?? o.iterableLimit),
    ITERABLE_MAX_CONCURRENT: String(o.lists),
    WORKER_CONCURRENCY: String(o.lists),
  });
  try {
    const started = performance.now();
    const messages = Math.ceil(o.changes / PROFILES_PER_MESSAGE);
    for (let m = 0; m < messages; m += 16) {
      await Promise.all(
        Array.from({ length: Math.min(16, messages - m) }, async (_, k) => {
          const n = m + k;
          const profiles = Array.from({ length: PROFILES_PER_MESSAGE }, (_, i) => {
            const user = n * PROFILES_PER_MESSAGE + i;
            return {
              mpid: String(10_000_000 + user),
              email: `u${user}@example.com`,
              customerId: `c${user}`,
              audiences: [{ audienceId: 1 + (user % o.lists), listId: lists[user % o.lists], action: 'add' as const }],
            };
          });
          const res = await stack.send(membershipMessage(`backlog-${n}`, 1_700_000_000_000 + n, profiles, { accountId: ACCOUNT, apiKey: API_KEY }));
          if (res.status !== 200) throw new Error(`backlog message answered ${res.status}`);
        }),
      );
    }
    const backlogSeconds = (performance.now() - started) / 1000;
    fake.state.requests.length = 0;

    const drainStarted = performance.now();
    const worker = await stack.startWorker({ LOG_LEVEL: 'warn' });
    await stack.settled(ACCOUNT, 600_000);
    const drainSeconds = (performance.now() - drainStarted) / 1000;
    const settledAt = Date.now();
    const calls = fake.state.requests.filter((r) => r.apiPath === '/api/lists/subscribe');
    const accepted = calls.filter((r) => r.status === 200);
    const delivered = accepted.reduce((n, r) => n + (r.body as { subscribers: unknown[] }).subscribers.length, 0);
    // From the worker's first call to the last change settled: the drain itself, without process start-up.
    const deliverySeconds = (settledAt - Math.min(...calls.map((r) => r.timeMs))) / 1000;
    const members = lists.reduce((n, id) => n + (fake.state.members(id)?.length ?? 0), 0);
    const storage = o.driver === 'postgres' ? await bytesPerChange(stack.dataSource, delivered) : undefined;

    const latencies: number[] = [];
    for (let i = 0; i < o.loneChanges; i++) {
      const email = `lone${i}@example.com`;
      const sent = performance.now();
      // Newer than every backlog message, and not ahead of the clock (the API refuses a timestamp a day ahead).
      const res = await stack.send(
        membershipMessage(`lone-${i}`, Date.now(), [{ mpid: String(90_000_000 + i), email, audiences: [{ audienceId: 1, listId: lists[0], action: 'add' }] }], {
          accountId: ACCOUNT,
          apiKey: API_KEY,
        }),
      );
      if (res.status !== 200) throw new Error(`lone change answered ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
      const deadline = performance.now() + 60_000;
      while (!fake.state.requests.some((r) => r.status === 200 && JSON.stringify(r.body).includes(email))) {
        if (performance.now() > deadline) throw new Error(`lone change ${i} did not reach the fake Iterable within 60 s`);
        await new Promise((r) => setTimeout(r, 5));
      }
      latencies.push(performance.now() - sent);
      await new Promise((r) => setTimeout(r, 300));
    }
    latencies.sort((a, b) => a - b);
    return {
      title: `${o.driver}, ${o.changes} changes over ${o.lists} lists, fake Iterable limited to ${o.iterableLimit} requests/s`,
      backlogSeconds,
      drainSeconds,
      deliverySeconds,
      subscribersPerSecond: delivered / deliverySeconds,
      ofCeiling: (100 * delivered) / deliverySeconds / (o.iterableLimit * 1000),
      calls: calls.length,
      refused: calls.length - accepted.length,
      averageBatch: delivered / Math.max(1, accepted.length),
      callsPer10k: (calls.length * 10_000) / o.changes,
      members,
      ...(storage ? { storage } : {}),
      loneP50: quantile(latencies, 0.5),
      loneP95: quantile(latencies, 0.95),
      apiPeakMiB: peakMemoryMiB(stack.api.child.pid),
      workerPeakMiB: peakMemoryMiB(worker.child.pid),
    };
  } finally {
    await stack.stop();
    await fake.close();
  }
}

export function deliveryRows(f: DeliveryFigures, changes: number, limit: number): [string, string][] {
  return [
    ['backlog accepted in', `${fmt(f.backlogSeconds)} s`],
    ['drained in', `${fmt(f.drainSeconds)} s from worker start, ${fmt(f.deliverySeconds)} s from its first call`],
    ['drain rate', `${fmt(f.subscribersPerSecond, 0)} subscribers/s (${fmt(f.ofCeiling)} % of ${limit} × 1000)`],
    ['Iterable calls', `${f.calls} (${f.refused} answered 429 or failed), ${fmt(f.callsPer10k)} per 10,000 changes`],
    ['average batch', `${fmt(f.averageBatch)} subscribers`],
    ['members in Iterable', `${f.members} of ${changes}`],
    ...(f.storage
      ? ([
          [
            'bytes per delivered change (PostgreSQL, tables with indexes)',
            Object.entries(f.storage)
              .map(([t, b]) => `${t} ${fmt(b, 0)}`)
              .join(', '),
          ],
        ] as [string, string][])
      : []),
    ['lone change p50 / p95', `${fmt(f.loneP50, 0)} / ${fmt(f.loneP95, 0)} ms`],
  ];
}

/** PostgreSQL's size of each table (with its indexes) after the drain, per delivered change. */
async function bytesPerChange(dataSource: DataSource, delivered: number): Promise<Record<string, number>> {
  await dataSource.query('VACUUM ANALYZE');
  const out: Record<string, number> = {};
  let total = 0;
  for (const table of ['memberships', 'list_members', 'delivery_verdicts', 'delivery_successes', 'delivery_calls', 'sync_inbox']) {
    const [row] = await dataSource.query(`SELECT pg_total_relation_size('${table}') AS bytes`);
    out[table] = Number(row.bytes) / Math.max(1, delivered);
    total += out[table] ?? 0;
  }
  return { ...out, total };
}
