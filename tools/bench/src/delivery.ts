import { performance } from 'node:perf_hooks';
import type { DataSource } from 'typeorm';
import { startFakeIterable } from '@audience-bridge/fake-iterable';
import { membershipMessage, startStack } from '@audience-bridge/harness';
import { coresBusy, processesNamed, processTree, startCpuMeter } from './cpu';
import { peakMemoryMiB } from './memory';
import { fmt, quantile } from './stats';

export interface DeliveryOptions {
  changes: number;
  lists: number;
  iterableLimit: number;
  /** The client's own limit (ITERABLE_REQUESTS_PER_SECOND); the fake's by default. */
  clientLimit?: number;
  loneChanges: number;
  /**
   * Rounds in which every user of the backlog changes once more (leaves, then joins again), PostgreSQL only; the
   * growth is measured over all but the first (at least 2 to measure it).
   */
  againRounds: number;
  driver: 'postgres' | 'sqlite';
}

export interface DeliveryFigures {
  title: string;
  backlogSeconds: number;
  drainSeconds: number;
  deliverySeconds: number;
  /** Of deliverySeconds: from the first call to the last call's start, and from that to the last change settled. */
  callSpanSeconds: number;
  tailSeconds: number;
  subscribersPerSecond: number;
  ofCeiling: number;
  calls: number;
  refused: number;
  /**
   * The shortest time in which the fake Iterable received `iterableLimit + 1` accepted calls (ms, by arrival): how
   * close the shared rate limiter came to the limit (1000 ms or less would have been a 429). Null when too few calls.
   */
  tightestSpanMs: number | null;
  /** When each refused call arrived, in ms after the first call. */
  refusedAtMs: number[];
  averageBatch: number;
  callsPer10k: number;
  members: number;
  /** PostgreSQL bytes per delivered change, per table and in total (tables with their indexes). */
  storage?: Record<string, number>;
  /** The same, per relation: each table's own rows (`<table>`, with its TOAST) and each of its indexes. */
  relations?: Record<string, number>;
  /** What the rounds of further changes to the same members added, per change they delivered. */
  again?: { changes: number; storage: Record<string, number>; relations: Record<string, number> };
  /** CPU seconds per process group from the worker being ready to the last change settled, and that window. */
  drainCpu: Record<string, number>;
  drainCpuSeconds: number;
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
    await sendChanges(stack, o, lists, 'backlog', 1_700_000_000_000, 'add');
    const backlogSeconds = (performance.now() - started) / 1000;
    fake.state.requests.length = 0;

    const drainStarted = performance.now();
    const worker = await stack.startWorker({ LOG_LEVEL: 'warn' });
    // From the worker being ready (its start-up not counted) to settled; the fake Iterable is this process.
    const meterStarted = performance.now();
    const meter = startCpuMeter({ worker: () => processTree(worker.child.pid), postgres: () => processesNamed('postgres') }, 'fake Iterable and bench');
    await stack.settled(ACCOUNT, 600_000);
    const drainCpu = meter.stop();
    const drainCpuSeconds = (performance.now() - meterStarted) / 1000;
    const drainSeconds = (performance.now() - drainStarted) / 1000;
    const settledAt = Date.now();
    const calls = fake.state.requests.filter((r) => r.apiPath === '/api/lists/subscribe');
    const accepted = calls.filter((r) => r.status === 200);
    const delivered = accepted.reduce((n, r) => n + (r.body as { subscribers: unknown[] }).subscribers.length, 0);
    // From the worker's first call to the last change settled: the drain itself, without process start-up.
    const firstCall = Math.min(...calls.map((r) => r.timeMs));
    const lastCall = Math.max(...calls.map((r) => r.timeMs));
    const deliverySeconds = (settledAt - firstCall) / 1000;
    const members = lists.reduce((n, id) => n + (fake.state.members(id)?.length ?? 0), 0);
    const sizes = o.driver === 'postgres' ? perChange(await relationSizes(stack.dataSource), delivered) : undefined;
    const again = o.driver === 'postgres' && o.againRounds > 1 ? await changeAgain(stack, o, lists, fake) : undefined;

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
      callSpanSeconds: (lastCall - firstCall) / 1000,
      tailSeconds: (settledAt - lastCall) / 1000,
      subscribersPerSecond: delivered / deliverySeconds,
      ofCeiling: (100 * delivered) / deliverySeconds / (o.iterableLimit * 1000),
      calls: calls.length,
      refused: calls.length - accepted.length,
      tightestSpanMs: tightestSpan(
        accepted.map((r) => r.timeMs),
        o.iterableLimit,
      ),
      refusedAtMs: calls.filter((r) => r.status !== 200).map((r) => r.timeMs - firstCall),
      averageBatch: delivered / Math.max(1, accepted.length),
      callsPer10k: (calls.length * 10_000) / o.changes,
      members,
      ...(sizes ? { storage: sizes.tables, relations: sizes.relations } : {}),
      ...(again ? { again } : {}),
      drainCpu,
      drainCpuSeconds,
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
    [
      'drained in',
      `${fmt(f.drainSeconds)} s from worker start, ${fmt(f.deliverySeconds)} s from its first call ` +
        `(calls over ${fmt(f.callSpanSeconds)} s, then ${fmt(f.tailSeconds)} s to settled)`,
    ],
    ['drain rate', `${fmt(f.subscribersPerSecond, 0)} subscribers/s (${fmt(f.ofCeiling)} % of ${limit} × 1000)`],
    ['cores busy while draining', `${coresBusy(f.drainCpu, f.drainCpuSeconds, (n) => fmt(n, 2))} (over ${fmt(f.drainCpuSeconds)} s)`],
    [
      'Iterable calls',
      `${f.calls} (${f.refused} answered 429 or failed${f.refused > 0 ? `, at ${f.refusedAtMs.map((t) => `${fmt(t / 1000)} s`).join(', ')}` : ''}), ` +
        `${fmt(f.callsPer10k)} per 10,000 changes`,
    ],
    [`closest ${limit + 1} accepted calls (arrival)`, f.tightestSpanMs === null ? 'n/a' : `${fmt(f.tightestSpanMs, 0)} ms (1000 ms or less is over the limit)`],
    ['average batch', `${fmt(f.averageBatch)} subscribers`],
    ['members in Iterable', `${f.members} of ${changes}`],
    ...(f.storage
      ? ([
          ['bytes per delivered change (PostgreSQL, tables with indexes)', sizesText(f.storage)],
          ['of which, per relation (table rows, then each index)', sizesText(f.relations ?? {})],
        ] as [string, string][])
      : []),
    ...(f.again
      ? ([
          [`bytes added per further change (${f.again.changes} changes to the same members)`, sizesText(f.again.storage)],
          ['of which, per relation', sizesText(f.again.relations)],
        ] as [string, string][])
      : []),
    ['lone change p50 / p95', `${fmt(f.loneP50, 0)} / ${fmt(f.loneP95, 0)} ms`],
  ];
}

function sizesText(sizes: Record<string, number>): string {
  return Object.entries(sizes)
    .map(([t, b]) => `${t} ${fmt(b, 0)}`)
    .join(', ');
}

/** The shortest span covering `limit + 1` consecutive times (sorted here), or null when there are not that many. */
export function tightestSpan(times: number[], limit: number): number | null {
  const sorted = [...times].sort((a, b) => a - b);
  let tightest: number | null = null;
  for (let i = limit; i < sorted.length; i++) {
    const span = (sorted[i] as number) - (sorted[i - limit] as number);
    if (tightest === null || span < tightest) tightest = span;
  }
  return tightest;
}

/**
 * A user's mpid as mParticle's look: a signed 64-bit integer of up to 19 digits, scattered (a sequence of small
 * numbers packs and compresses better than real mpids, and would flatter the storage figures).
 */
export function benchMpid(user: number): string {
  const scattered = (BigInt(user + 1) * 0x9e3779b97f4a7c15n) & 0xffffffffffffffffn;
  return BigInt.asIntN(64, scattered).toString();
}

type Stack = Awaited<ReturnType<typeof startStack>>;

/** `users` changes through the real API, 16 messages of 50 profiles at a time: user i in audience 1 + i % lists. */
async function sendChanges(stack: Stack, o: DeliveryOptions, lists: number[], prefix: string, timestampMs: number, action: 'add' | 'delete'): Promise<void> {
  const messages = Math.ceil(o.changes / PROFILES_PER_MESSAGE);
  for (let m = 0; m < messages; m += 16) {
    await Promise.all(
      Array.from({ length: Math.min(16, messages - m) }, async (_, k) => {
        const n = m + k;
        const profiles = Array.from({ length: PROFILES_PER_MESSAGE }, (_, i) => {
          const user = n * PROFILES_PER_MESSAGE + i;
          return {
            mpid: benchMpid(user),
            email: `u${user}@example.com`,
            customerId: `c${user}`,
            audiences: [{ audienceId: 1 + (user % o.lists), listId: lists[user % o.lists], action }],
          };
        });
        const res = await stack.send(membershipMessage(`${prefix}-${n}`, timestampMs + n, profiles, { accountId: ACCOUNT, apiKey: API_KEY }));
        if (res.status !== 200) throw new Error(`${prefix} message answered ${res.status}`);
      }),
    );
  }
}

/**
 * The same members again, as a steady audience lives: each round every user of the backlog leaves its audience or
 * joins it again, delivered by the running worker, then a VACUUM (autovacuum's part, run here so the figure does not
 * depend on its timing). What the tables grew by from the end of the first round to the end of the last, per change
 * those rounds delivered, is what further changes cost once the members are known and their tables hold the dead
 * space of an update (the first figure also holds each new member's state).
 */
async function changeAgain(
  stack: Stack,
  o: DeliveryOptions,
  lists: number[],
  fake: Awaited<ReturnType<typeof startFakeIterable>>,
): Promise<{ changes: number; storage: Record<string, number>; relations: Record<string, number> }> {
  let delivered = 0;
  let before: RelationSizes | undefined;
  for (let round = 1; round <= o.againRounds; round++) {
    fake.state.requests.length = 0;
    await sendChanges(stack, o, lists, `again-${round}`, 1_700_100_000_000 + round * 1_000_000, round % 2 === 1 ? 'delete' : 'add');
    await stack.settled(ACCOUNT, 600_000);
    const sizes = await relationSizes(stack.dataSource);
    if (before === undefined) {
      before = sizes;
      continue;
    }
    delivered += fake.state.requests
      .filter((r) => r.status === 200 && (r.apiPath === '/api/lists/subscribe' || r.apiPath === '/api/lists/unsubscribe'))
      .reduce((n, r) => n + (r.body as { subscribers: unknown[] }).subscribers.length, 0);
  }
  const after = await relationSizes(stack.dataSource);
  const growth = (now: Record<string, number>, then: Record<string, number>): Record<string, number> =>
    Object.fromEntries(Object.entries(now).map(([name, bytes]) => [name, (bytes - (then[name] ?? 0)) / Math.max(1, delivered)]));
  return { changes: delivered, storage: growth(after.tables, before?.tables ?? {}), relations: growth(after.relations, before?.relations ?? {}) };
}

interface RelationSizes {
  /** Each table with its indexes, and their total. */
  tables: Record<string, number>;
  /** Each table's own rows (with its TOAST), and each of its indexes. */
  relations: Record<string, number>;
}

/** PostgreSQL's size of the tables delivery writes, after a VACUUM, in bytes. */
async function relationSizes(dataSource: DataSource): Promise<RelationSizes> {
  await dataSource.query('VACUUM ANALYZE');
  const tables: Record<string, number> = {};
  const relations: Record<string, number> = {};
  for (const table of ['memberships', 'list_members', 'delivery_verdicts', 'delivery_successes', 'delivery_calls', 'sync_inbox']) {
    const [row] = await dataSource.query(`SELECT pg_total_relation_size('${table}') AS bytes, pg_table_size('${table}') AS rows`);
    tables[table] = Number(row.bytes);
    relations[table] = Number(row.rows);
    const indexes: { name: string; bytes: string }[] = await dataSource.query(
      `SELECT indexrelid::regclass::text AS name, pg_relation_size(indexrelid) AS bytes FROM pg_index WHERE indrelid = '${table}'::regclass ORDER BY 1`,
    );
    for (const i of indexes) relations[i.name] = Number(i.bytes);
  }
  tables['total'] = Object.values(tables).reduce((a, b) => a + b, 0);
  return { tables, relations };
}

function perChange(sizes: RelationSizes, delivered: number): RelationSizes {
  const per = (bytes: Record<string, number>): Record<string, number> =>
    Object.fromEntries(Object.entries(bytes).map(([name, b]) => [name, b / Math.max(1, delivered)]));
  return { tables: per(sizes.tables), relations: per(sizes.relations) };
}
