import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startFakeIterable } from '@audience-bridge/fake-iterable';
import { freePort, INBOUND_TOKEN, membershipMessage, startStack } from '@audience-bridge/harness';
import { createDataSource } from '@audience-bridge/persistence';
import { createTestDatabase } from '@audience-bridge/persistence/testing';
import { FLOOR_SCHEMA, floorDurableSchema, FloorShape } from './floor-server';
import { createPoster } from './http-client';
import { coresBusy, CpuMeter, processesNamed, processTree, startCpuMeter } from './cpu';
import { peakMemoryMiB } from './memory';
import { fmt, quantile } from './stats';

export interface IngestOptions {
  senders: number;
  profiles: number;
  seconds: number;
  apiProcesses: number;
  /** Run the worker, delivering to the fake Iterable meanwhile. */
  withWorker: boolean;
  iterableLimit: number;
  driver: 'postgres' | 'sqlite';
  /**
   * Hot users: the same `hotUsers` users move in and out of two audiences (two lists) again and again, so
   * the worker settles the very members ingest keeps writing. Unset: users spread over 200,000.
   */
  hotUsers?: number;
}

export interface IngestFigures {
  title: string;
  acknowledged: number;
  messagesPerSecond: number;
  changesPerSecond: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  non200: number;
  /** audience_bridge_db_deadlocks_total of the API and the worker at the end of the run. */
  deadlocks: number;
  /** audience_bridge_db_lock_waits (sessions waiting for a lock when scraped), API and worker. */
  lockWaits: number;
  firstError?: string;
  apiPeakMiB: number;
  workerPeakMiB: number;
  /** CPU seconds over the measured window per group of processes (the API or floor, the worker, the database…). */
  cpu?: Record<string, number>;
  /** The measured window, in seconds. */
  elapsed: number;
}

/** The Iterable key of the account every ingest message names (account 1). */
export const INGEST_API_KEY = 'bench-iterable-key-0000000000000000';
const WARMUP_SECONDS = 3;

/**
 * mParticle's side of the load: `senders` concurrent senders posting membership messages of `profiles`
 * profiles to the real API (built, as processes), with the worker delivering to the fake Iterable at
 * `iterableLimit` requests/s, Redis and the database on this machine. Measures the acknowledgement.
 */
export async function runIngest(o: IngestOptions): Promise<IngestFigures> {
  const fake = await startFakeIterable();
  const project = fake.state.createProject({ apiKey: INGEST_API_KEY, type: 'hybrid', dataCenter: 'US' });
  const lists = Array.from({ length: 4 }, (_, i) => fake.state.createList(project, `ingest-${i}`).id);
  fake.state.setConfig({ maxLoggedRequests: 1000 });
  fake.state.setFaults({ rateLimit: { requestsPerSecond: o.iterableLimit, retryAfterSeconds: 1 } });
  const stack = await startStack(o.driver, {
    LOG_LEVEL: 'warn',
    API_PROCESSES: String(o.apiProcesses),
    ITERABLE_API_BASE_URL: fake.url,
    ITERABLE_REQUESTS_PER_SECOND: String(o.iterableLimit),
    // The ingest's group commit, to measure it (README "Where the targets stand"); the API's default otherwise.
    ...(process.env['INGEST_GROUPS_IN_FLIGHT'] ? { INGEST_GROUPS_IN_FLIGHT: process.env['INGEST_GROUPS_IN_FLIGHT'] } : {}),
  });
  const worker = o.withWorker ? await stack.startWorker({ LOG_LEVEL: 'warn' }) : undefined;
  const meter = () =>
    startCpuMeter({
      API: () => processTree(stack.api.child.pid),
      ...(worker ? { worker: () => processTree(worker.child.pid) } : {}),
      ...databaseGroup(o.driver),
      Redis: () => processesNamed('redis-server'),
    });
  try {
    const driven = await drive(stack.apiUrl, o, lists, meter);
    // Contention as /metrics reports it: deadlock victims (API and worker) and lock waits sampled at scrape.
    const scrapes = [await stack.metrics()];
    for (const port of stack.workerPorts) scrapes.push(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
    const metric = (name: string) => {
      const values = scrapes.map((text) => new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1]).filter((v) => v !== undefined);
      if (values.length === 0) throw new Error(`/metrics has no ${name}`);
      return values.reduce((n, v) => n + Number(v), 0);
    };
    const title =
      `${o.driver}, API_PROCESSES=${o.apiProcesses}, ` +
      `${o.withWorker ? `worker delivering to the fake Iterable at ${o.iterableLimit} requests/s` : 'no worker'}, ` +
      `${o.senders} senders × ${o.profiles} profiles/message${o.hotUsers ? `, ${o.hotUsers} hot users in 2 audiences` : ''}, ` +
      `${o.seconds} s after ${WARMUP_SECONDS} s warm-up`;
    return figures(title, o, driven, {
      deadlocks: metric('audience_bridge_db_deadlocks_total'),
      lockWaits: metric('audience_bridge_db_lock_waits'),
      apiPeakMiB: peakMemoryMiB(stack.api.child.pid),
      workerPeakMiB: peakMemoryMiB(worker?.child.pid),
    });
  } finally {
    await stack.stop();
    await fake.close();
  }
}

/** The bodies of a run: hot users moving in and out of two audiences, or users spread over 200,000 in four. */
function bodies(o: Pick<IngestOptions, 'profiles' | 'hotUsers'>, lists: number[]): () => string {
  let sequence = 0;
  return () => {
    const n = sequence++;
    const profiles = Array.from({ length: o.profiles }, (_, i) => {
      if (o.hotUsers) {
        // Each message moves 50 of the hot users in or out of both audiences (distinct users per message).
        const user = (n * o.profiles + i) % o.hotUsers;
        const action = (n + i) % 2 === 0 ? ('add' as const) : ('delete' as const);
        // Their own users: never the same mpid or customer id as the spread shape's (bench:size runs both on one database).
        return {
          mpid: String(2_000_000 + user),
          email: `hot${user}@example.com`,
          customerId: `h${user}`,
          audiences: [
            { audienceId: 1, listId: lists[0], action },
            { audienceId: 2, listId: lists[1], action: action === 'add' ? ('delete' as const) : ('add' as const) },
          ],
        };
      }
      const user = (n * o.profiles + i) % 200_000;
      return {
        mpid: String(1_000_000 + user),
        email: `user${user}@example.com`,
        customerId: `c${user}`,
        audiences: [{ audienceId: 1 + (user % 4), listId: lists[user % 4], action: (n + i) % 5 === 0 ? ('delete' as const) : ('add' as const) }],
      };
    });
    return JSON.stringify(membershipMessage(`bench-${n}`, 1_700_000_000_000 + n, profiles, { accountId: 1, apiKey: INGEST_API_KEY }));
  };
}

/** PostgreSQL's processes as a CPU group; none for SQLite (it runs inside the app). */
function databaseGroup(driver: IngestOptions['driver']): Record<string, () => number[]> {
  return driver === 'postgres' ? { PostgreSQL: () => processesNamed('postgres') } : {};
}

/** The load generator: `senders` concurrent senders posting for a warm-up, then `seconds` measured. */
export async function drive(
  url: string,
  o: Pick<IngestOptions, 'senders' | 'seconds' | 'profiles' | 'hotUsers'>,
  lists: number[],
  meter?: () => CpuMeter,
): Promise<Driven> {
  const post = createPoster(url, o.senders);
  const nextBody = bodies(o, lists);
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  let measuring = false;
  let stop = false;
  let firstError: string | undefined;
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
  const senders = Array.from({ length: o.senders }, sender);
  await new Promise((r) => setTimeout(r, WARMUP_SECONDS * 1000));
  measuring = true;
  const cpu = meter?.();
  const started = performance.now();
  await new Promise((r) => setTimeout(r, o.seconds * 1000));
  measuring = false;
  const elapsed = (performance.now() - started) / 1000;
  const used = cpu?.stop();
  stop = true;
  await Promise.all(senders);
  return { latencies, statuses, elapsed, firstError, ...(used ? { cpu: used } : {}) };
}

/**
 * The floor figures of the same load (see floor-server.ts): its own process(es), a fresh database of the driver.
 * `durable`: the floor that also remembers message ids and appends inbox rows (FLOOR_SHAPE=durable).
 */
export async function runFloor(o: IngestOptions, shape: FloorShape = 'minimal'): Promise<IngestFigures> {
  const database = await createTestDatabase(o.driver);
  const setup = createDataSource(database.url);
  await setup.initialize();
  for (const statement of [FLOOR_SCHEMA, ...(shape === 'durable' ? floorDurableSchema(o.driver) : [])]) await setup.query(statement);
  await setup.destroy();
  const port = await freePort();
  const child = spawn(process.execPath, [join(__dirname, 'floor-server.js')], {
    env: {
      PATH: process.env['PATH'] ?? '',
      DATABASE_URL: database.url,
      PORT: String(port),
      FLOOR_PROCESSES: String(o.apiProcesses),
      FLOOR_SHAPE: shape,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (d: Buffer) => d.toString().includes('floor listening') && resolve());
      child.once('exit', (code) => reject(new Error(`floor server exited (${code})`)));
    });
    const meter = () =>
      startCpuMeter({
        floor: () => processTree(child.pid),
        ...databaseGroup(o.driver),
      });
    const driven = await drive(`http://127.0.0.1:${port}`, o, [1, 2, 3, 4], meter);
    const what = shape === 'durable' ? 'one upsert, message ids and inbox' : 'one upsert';
    return figures(`floor: node:http + ${what}, ${o.driver}, ${o.apiProcesses} process(es)`, o, driven, {
      deadlocks: 0,
      lockWaits: 0,
      apiPeakMiB: peakMemoryMiB(child.pid),
      workerPeakMiB: 0,
    });
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    await database.drop();
  }
}

export interface Driven {
  latencies: number[];
  statuses: Map<number, number>;
  elapsed: number;
  firstError: string | undefined;
  cpu?: Record<string, number>;
}

/** The figures of a driven run: rates over the measured seconds, latency quantiles, answers not 200. */
export function figures(
  title: string,
  o: Pick<IngestOptions, 'profiles' | 'hotUsers'>,
  driven: Driven,
  extra: Pick<IngestFigures, 'deadlocks' | 'lockWaits' | 'apiPeakMiB' | 'workerPeakMiB'>,
): IngestFigures {
  const latencies = [...driven.latencies].sort((a, b) => a - b);
  const ok = driven.statuses.get(200) ?? 0;
  return {
    title,
    acknowledged: ok,
    messagesPerSecond: ok / driven.elapsed,
    changesPerSecond: (ok * o.profiles * (o.hotUsers ? 2 : 1)) / driven.elapsed,
    p50: quantile(latencies, 0.5),
    p95: quantile(latencies, 0.95),
    p99: quantile(latencies, 0.99),
    max: latencies[latencies.length - 1] ?? Number.NaN,
    non200: [...driven.statuses].filter(([s]) => s !== 200).reduce((n, [, c]) => n + c, 0),
    ...(driven.firstError ? { firstError: driven.firstError } : {}),
    ...(driven.cpu ? { cpu: driven.cpu } : {}),
    elapsed: driven.elapsed,
    ...extra,
  };
}

export function ingestRows(f: IngestFigures): [string, string][] {
  return [
    ['messages acknowledged', String(f.acknowledged)],
    ['messages/s, accepted changes/s', `${fmt(f.messagesPerSecond, 0)}, ${fmt(f.changesPerSecond, 0)}`],
    ['ack p50 / p95 / p99 / max', `${fmt(f.p50)} / ${fmt(f.p95)} / ${fmt(f.p99)} / ${fmt(f.max)} ms`],
    ['non-200 answers', f.firstError ? `${f.non200} (first: ${f.firstError})` : String(f.non200)],
    ['deadlocks / lock waits (/metrics)', `${f.deadlocks} / ${f.lockWaits}`],
    ...cpuRows(f),
  ];
}

/** Where the cores went: CPU per acknowledged message by process group, and cores busy over the window. */
export function cpuRows(f: Pick<IngestFigures, 'cpu' | 'acknowledged' | 'elapsed'>): [string, string][] {
  if (f.cpu === undefined || f.acknowledged === 0) return [];
  return [
    [
      'CPU per message (ms)',
      Object.entries(f.cpu)
        .map(([name, seconds]) => `${name} ${fmt((seconds * 1000) / f.acknowledged, 2)}`)
        .join(', '),
    ],
    ['cores busy (of the window)', coresBusy(f.cpu, f.elapsed, (n) => fmt(n, 2))],
  ];
}
