import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { DataSource } from 'typeorm';
import { RunningFakeIterable, startFakeIterable } from '@audience-bridge/fake-iterable';
import { ADMIN_TOKEN, membershipMessage, Stack, startApp, startStack, freePort, waitFor, waitForHttp, WORKSPACE_ROOT } from '@audience-bridge/harness';
import { AuditRepository, Database, DeliveryRepository, ListLeasesRepository } from '@audience-bridge/persistence';
import { drive, Driven, figures, INGEST_API_KEY, IngestFigures } from './ingest';
import { peakMemoryMiB } from './memory';
import { fmt, quantile } from './stats';

export interface SizeOptions {
  /** Memberships in all (one audience holds half of them). */
  memberships: number;
  /** Per-user verdicts in the audit, spread over `days` + 1 days (the oldest day is past retention). */
  verdicts: number;
  /** Verdicts per Iterable call, on average. */
  verdictsPerCall: number;
  /** Message ids kept (received_messages), spread over the same days. */
  messages: number;
  /** Forwarded user attributes (user_attributes): two a user of the big audience, from its first user on. */
  attributes: number;
  days: number;
  /** Seconds of each ingest shape. */
  ingestSeconds: number;
  /** Inbox rows waiting while the reads that count what waits are measured again (an outage's backlog). */
  backlog: number;
}

const ACCOUNTS = 20;
const AUDIENCES_PER_ACCOUNT = 10;
const AUDIENCES = ACCOUNTS * AUDIENCES_PER_ACCOUNT;
const DAY_MS = 86_400_000;
/** Older than any message the ingest shapes send (newest wins). */
const SEED_TIMESTAMP = 1_600_000_000_000;
const ENDPOINT_CALLS = 20;
const keyOf = (account: number) => (account === 1 ? INGEST_API_KEY : `bench-size-key-${String(account).padStart(4, '0')}-0000000000000`);

/** One account's audiences and their lists, as mParticle set them up. */
interface Layout {
  fake: RunningFakeIterable;
  /** lists[g]: the list of audience g (account 1 + g / 10, audience 1 + g % 10). */
  lists: number[];
  /** The fake's project of account 1 (the one the ingest shapes and the drift check use). */
  project: ReturnType<RunningFakeIterable['state']['createProject']>;
}

export interface EndpointFigure {
  name: string;
  /** The first call on a new API process. */
  coldMs: number;
  /** p50 and p99 (nearest rank) of the next ENDPOINT_CALLS calls. */
  p50Ms: number;
  p99Ms: number;
  status: number;
}

export interface SizeFigures {
  label: string;
  loadSeconds: number;
  rows: Record<string, number>;
  endpoints: EndpointFigure[];
  /** The reads that show what waits, again with `rows` inbox rows waiting (loaded in `loadSeconds`). */
  backlog: { rows: number; loadSeconds: number; endpoints: EndpointFigure[] };
  ingestSpread: IngestFigures;
  ingestHot: IngestFigures;
  drain: { changes: number; seconds: number; perSecond: number };
  /** The erasure requests measured above, completed by the worker while it drained: how many, seconds from its start. */
  erasures: { completed: number; pending: number; seconds: number };
  drift: { seconds: number; members: number; missing: number; extra: number; workerIdleMiB: number; workerPeakMiB: number };
  prune: { seconds: number; verdicts: number; successes: number; calls: number; messages: number; ingestDuring: IngestFigures };
  /** `db:migrate` with nothing to do; the newest migration again, ingest running meanwhile (what a release does). */
  migrate: { upToDateSeconds: number; newestSeconds: number; newest: string; ingestDuring: IngestFigures };
  tables: { name: string; rows: number; tableMiB: number; indexMiB: number }[];
}

/** The audiences of every account, each on its own list in the account's own project of the fake Iterable. */
async function layOut(stack: Stack, fake: RunningFakeIterable): Promise<Layout> {
  const lists: number[] = [];
  let first: Layout['project'] | undefined;
  for (let account = 1; account <= ACCOUNTS; account++) {
    const project = fake.state.createProject({ apiKey: keyOf(account), type: 'hybrid', dataCenter: 'US' });
    first ??= project;
    const own = Array.from({ length: AUDIENCES_PER_ACCOUNT }, (_, k) => fake.state.createList(project, `size-${account}-${k + 1}`).id);
    lists.push(...own);
    // The audience subscriptions, as a first membership message carries them (a user who is in none of them).
    const answer = await stack.send(
      membershipMessage(
        `size-setup-${account}`,
        SEED_TIMESTAMP,
        [
          {
            mpid: '1',
            email: 'setup@example.com',
            customerId: 'setup',
            audiences: own.map((listId, k) => ({ audienceId: k + 1, listId, action: 'delete' as const })),
          },
        ],
        { accountId: account, apiKey: keyOf(account) },
      ),
    );
    if (answer.status !== 200) throw new Error(`setup of account ${account} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  }
  return { fake, lists, project: first as Layout['project'] };
}

const progress = (label: string, done: number, total: number, started: number) => {
  const width = 30;
  const filled = Math.round((done / total) * width);
  const rate = done / Math.max(0.001, (performance.now() - started) / 1000);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
  const counts = `${done.toLocaleString('en')} / ${total.toLocaleString('en')}`;
  process.stdout.write(`\r  ${label.padEnd(18)} ${bar} ${counts} (${fmt(rate / 1000, 0)}k rows/s)   ${done >= total ? '\n' : ''}`);
};

/** The tables the loader fills; their secondary indexes are dropped while it writes and built again after. */
const LOADED_TABLES = ['memberships', 'list_members', 'delivery_calls', 'delivery_verdicts', 'delivery_successes', 'received_messages', 'user_attributes'];

/**
 * Writes a customer's size straight into PostgreSQL, server-side (`generate_series`): memberships (half of them in
 * audience 1 of account 1, the rest over the other 199), their list members (10 % unsubscribed, 1 % refused
 * outside list 1), and `days` + 1 days of audit spread evenly over time: calls, a verdict row for each user a call
 * refused or skipped (3 %), and one compact row per call for the users it simply delivered.
 */
async function load(dataSource: DataSource, layout: Layout, o: SizeOptions, now: number): Promise<Record<string, number>> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query(`SET synchronous_commit = off`);
    await runner.query(`SET maintenance_work_mem = '1GB'`);
    const indexes: { indexname: string; indexdef: string }[] = await runner.query(
      `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = ANY($1)
       AND indexname NOT IN (SELECT conname FROM pg_constraint)`,
      [LOADED_TABLES],
    );
    for (const index of indexes) await runner.query(`DROP INDEX "${index.indexname}"`);
    const audienceList = `(ARRAY[${layout.lists.join(',')}]::bigint[])`;
    // Audience g (0-based) of account 1 + g / 10: audience 0 holds half the memberships, the others share the rest.
    const big = Math.floor(o.memberships / 2);
    const each = Math.floor((o.memberships - big) / (AUDIENCES - 1));
    const chunks: { g: number; from: number; to: number }[] = [];
    for (let from = 1; from <= big; from += 500_000) chunks.push({ g: 0, from, to: Math.min(big, from + 499_999) });
    for (let g = 1; g < AUDIENCES; g += 10) chunks.push({ g, from: 1, to: each });
    const total = big + each * (AUDIENCES - 1);
    let started = performance.now();
    let done = 0;
    for (const chunk of chunks) {
      // A chunk of the big audience, or the same users in ten of the others (g .. g + 9).
      const audiences = chunk.g === 0 ? 'SELECT 0 AS g' : `SELECT generate_series(${chunk.g}, ${Math.min(AUDIENCES - 1, chunk.g + 9)}) AS g`;
      await runner.query(
        `WITH a AS (${audiences}), u AS (SELECT a.g, n FROM a, generate_series(${chunk.from}, ${chunk.to}) n),
         m AS (
           INSERT INTO memberships (account_id, audience_id, user_key, mpid, action, email, user_id, source_message_id, timestamp_ms)
           SELECT 1 + g / ${AUDIENCES_PER_ACCOUNT}, 1 + g % ${AUDIENCES_PER_ACCOUNT}, (1000000 + n)::text, (1000000 + n)::text,
                  CASE WHEN n % 10 = 0 THEN 'delete' ELSE 'add' END, 'user' || n || '@example.com', 'c' || n, 'size-seed', ${SEED_TIMESTAMP}
           FROM u RETURNING 1)
         INSERT INTO list_members (list_id, member_key, email, user_id, state, reason, recheck_at_ms, updated_at_ms, ever_subscribed)
         SELECT ${audienceList}[g + 1], 'user' || n || '@example.com', 'user' || n || '@example.com', 'c' || n,
                CASE WHEN n % 10 = 0 THEN 'unsubscribed' WHEN g > 0 AND n % 100 = 7 THEN 'failed' ELSE 'subscribed' END,
                CASE WHEN g > 0 AND n % 100 = 7 AND n % 10 <> 0 THEN 'invalidEmail' END, NULL, ${now - 2 * DAY_MS}, n % 10 <> 0
         FROM u`,
      );
      done += (chunk.to - chunk.from + 1) * (chunk.g === 0 ? 1 : Math.min(10, AUDIENCES - chunk.g));
      progress('memberships', done, total, started);
    }
    // The audit: calls and their verdicts, day by day from `days` days ago (plus one day past retention) to now.
    const calls = Math.ceil(o.verdicts / o.verdictsPerCall);
    const days = o.days + 1;
    const perDay = Math.ceil(o.verdicts / days);
    const callsPerDay = Math.ceil(calls / days);
    const dayStart = (d: number) => now - (days - d) * DAY_MS;
    // Call c of day d: half of all calls go to the big list, the rest to the others in turn; ids are v4-shaped UUIDs.
    const callId = (d: number) => `overlay(overlay(md5('${d}-' || c) placing '4' from 13) placing '8' from 17)::uuid::text`;
    const audienceOfCall = `(CASE WHEN c % 2 = 0 THEN 0 ELSE 1 + (c / 2) % ${AUDIENCES - 1} END)`;
    started = performance.now();
    done = 0;
    for (let d = 0; d < days; d++) {
      await runner.query(
        `INSERT INTO delivery_calls (id, account_id, list_id, action, subscriber_count, http_status, success_count, failure_count, duration_ms, error,
                                     dry_run, created_at_ms)
         SELECT ${callId(d)},
                1 + ${audienceOfCall} / ${AUDIENCES_PER_ACCOUNT}, ${audienceList}[${audienceOfCall} + 1],
                CASE WHEN c % 5 = 0 THEN 'unsubscribe' ELSE 'subscribe' END, ${o.verdictsPerCall},
                CASE WHEN c % 97 = 0 THEN 429 ELSE 200 END, ${o.verdictsPerCall - 1}, 1, 150 + c % 300, NULL, false,
                ${dayStart(d)} + c * ${Math.floor(DAY_MS / callsPerDay)}
         FROM generate_series(0::bigint, ${callsPerDay - 1}) c`,
      );
      // 1 % refused and 2 % skipped get a verdict row each; the rest were simply delivered: one compact row per call.
      const users = `SELECT i, i / ${o.verdictsPerCall} AS c, (i * 7919) % ${o.memberships} + 1 AS n, i % 100 = 7 OR i % 50 = 3 AS whole
                     FROM generate_series(0::bigint, ${perDay - 1}) i`;
      await runner.query(
        `WITH v AS (${users})
         INSERT INTO delivery_successes (call_id, account_id, audience_id, list_id, action, n, user_keys, created_at_ms)
         SELECT ${callId(d)},
                1 + ${audienceOfCall} / ${AUDIENCES_PER_ACCOUNT}, 1 + ${audienceOfCall} % ${AUDIENCES_PER_ACCOUNT},
                ${audienceList}[${audienceOfCall} + 1], CASE WHEN c % 5 = 0 THEN 'delete' ELSE 'add' END,
                COUNT(*), '[' || string_agg('"' || (1000000 + n) || '"', ',' ORDER BY i) || ']',
                ${dayStart(d)} + c * ${Math.floor(DAY_MS / callsPerDay)}
         FROM v WHERE NOT whole GROUP BY c`,
      );
      await runner.query(
        `WITH v AS (${users})
         INSERT INTO delivery_verdicts (call_id, account_id, audience_id, list_id, user_key, mpid, action, email, user_id, outcome, reason, retryable,
                                        created_at_ms)
         SELECT ${callId(d)},
                1 + ${audienceOfCall} / ${AUDIENCES_PER_ACCOUNT}, 1 + ${audienceOfCall} % ${AUDIENCES_PER_ACCOUNT},
                ${audienceList}[${audienceOfCall} + 1], (1000000 + n)::text, (1000000 + n)::text,
                CASE WHEN c % 5 = 0 THEN 'delete' ELSE 'add' END, 'user' || n || '@example.com', 'c' || n,
                CASE WHEN i % 100 = 7 THEN 'failed' WHEN i % 50 = 3 THEN 'skipped' ELSE 'delivered' END,
                CASE WHEN i % 100 = 7 THEN 'invalidEmail' WHEN i % 50 = 3 THEN 'no_email' END, false,
                ${dayStart(d)} + c * ${Math.floor(DAY_MS / callsPerDay)}
         FROM v WHERE whole`,
      );
      done += perDay;
      progress('audit verdicts', done, perDay * days, started);
    }
    // Forwarded attributes of the big audience's users (the erasure requests' subjects among them): email and customer
    // id as ingest stores them, so an erasure's lookup by either reads the loaded table.
    await runner.query(
      `INSERT INTO user_attributes (account_id, user_key, attribute_key, value, skip_reason, mpid, email, user_id, source_message_id, timestamp_ms,
                                    updated_at_ms)
       SELECT 1, (1000000 + n)::text, k, '"gold"', NULL, (1000000 + n)::text, 'user' || n || '@example.com', 'c' || n, 'size-seed', ${SEED_TIMESTAMP}, ${now}
       FROM generate_series(1, ${Math.ceil(o.attributes / 2)}) n, (VALUES ('plan'), ('tier')) a (k)`,
    );
    const messagesPerDay = Math.ceil(o.messages / days);
    await runner.query(
      `INSERT INTO received_messages (account_id, message_id, change_count, duplicate_count, timestamp_ms, received_at)
       SELECT 1 + m % ${ACCOUNTS}, 'size-' || m, 50, 0, ${now} - (${days * messagesPerDay} - m) * ${Math.floor(DAY_MS / messagesPerDay)},
              to_timestamp((${now} - (${days * messagesPerDay} - m) * ${Math.floor(DAY_MS / messagesPerDay)}) / 1000.0)
       FROM generate_series(0::bigint, ${days * messagesPerDay - 1}) m`,
    );
    started = performance.now();
    for (const [i, index] of indexes.entries()) {
      await runner.query(index.indexdef);
      progress('indexes', i + 1, indexes.length, started);
    }
    // What the sweeper of a running worker would have folded by now: the kept counts' changes the load appended.
    const db = new Database(dataSource);
    await new DeliveryRepository(db, new ListLeasesRepository(db)).foldCounts();
    // A long-running database's tables are vacuumed as they grow; a bulk load's are not yet, and autovacuum would
    // work through the tens of millions of fresh rows while ingest and the drain are measured (two cores). Vacuumed
    // and checkpointed here, as autovacuum and the checkpointer would have left them.
    started = performance.now();
    await runner.query('VACUUM (ANALYZE)');
    await runner.query('CHECKPOINT');
    process.stdout.write(`  vacuumed and checkpointed in ${fmt((performance.now() - started) / 1000, 0)} s\n`);
    const counts: Record<string, number> = {};
    for (const t of LOADED_TABLES) counts[t] = Number((await runner.query(`SELECT COUNT(*) AS n FROM ${t}`))[0].n);
    return counts;
  } finally {
    await runner.release();
  }
}

/**
 * Runs `work` while watching PostgreSQL's autovacuum workers, and says which tables they worked on meanwhile (their
 * reads and writes share the two cores with what is measured).
 */
async function watchingAutovacuum<T>(dataSource: DataSource, work: Promise<T>): Promise<T> {
  const seen = new Set<string>();
  let done = false;
  const watching = (async () => {
    while (!done) {
      const rows: { query: string }[] = await dataSource.query(
        `SELECT query FROM pg_stat_activity WHERE backend_type = 'autovacuum worker' AND datname = current_database()`,
      );
      for (const r of rows) if (r.query) seen.add(r.query.replace(/^autovacuum:\s*/, ''));
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  })();
  try {
    return await work;
  } finally {
    done = true;
    await watching;
    process.stdout.write(`    autovacuum meanwhile: ${seen.size === 0 ? 'none' : [...seen].join('; ')}\n`);
  }
}

/** Iterable holds what delivery says it has for list 1 of account 1 (subscribed members), 100,000 users at a time. */
function seedFake(layout: Layout, o: SizeOptions): number {
  const big = Math.floor(o.memberships / 2);
  let seeded = 0;
  for (let start = 1; start <= big; start += 100_000) {
    const users = [];
    for (let n = start; n < Math.min(big + 1, start + 100_000); n++)
      if (n % 10 !== 0) users.push({ email: `user${n}@example.com`, listIds: [layout.lists[0]] });
    layout.fake.state.seedUsers(layout.project, users);
    seeded += users.length;
  }
  return seeded;
}

/** The reads that show what waits in the inbox (the console's connections and summary, stats, the metrics). */
const BACKLOG_READS = new Set(['summary, hour', 'summary, day', 'connections', 'stats', 'metrics', 'ready']);

/**
 * Every console and admin read (and a replay preview), each called cold on a new API process, then 20 times; or only
 * those `only` names.
 */
async function endpoints(apiUrl: string, layout: Layout, callId: string, only?: ReadonlySet<string>): Promise<EndpointFigure[]> {
  const list = layout.lists[0];
  const requests: [string, string, string, unknown?][] = [
    ['summary, hour', 'GET', '/v1/summary?window=hour'],
    ['summary, day', 'GET', '/v1/summary?window=day'],
    ['connections', 'GET', '/v1/connections'],
    ['stats', 'GET', '/v1/stats'],
    ['deliveries, newest', 'GET', '/v1/deliveries?limit=50'],
    ['deliveries of a list, failed', 'GET', `/v1/deliveries?accountId=1&listId=${list}&status=failed&limit=50`],
    ['one delivery', 'GET', `/v1/deliveries/${callId}`],
    ['user by email', 'GET', '/v1/users?email=user4242@example.com'],
    ['user by mpid', 'GET', '/v1/users?mpid=1004242'],
    ['user by customer id', 'GET', '/v1/users?customerId=c4242'],
    ['user memberships', 'GET', '/v1/users/1004242/memberships'],
    ['account', 'GET', '/v1/accounts/1'],
    ['audience', 'GET', '/v1/accounts/1/audiences/1'],
    ['drift checks', 'GET', '/v1/accounts/1/drift-checks'],
    ['drift settings', 'GET', '/v1/accounts/1/drift-settings'],
    ['replay preview, all', 'POST', '/v1/replay', { preview: true }],
    ['replay preview, a list', 'POST', '/v1/replay', { listId: layout.lists[11], preview: true }],
    ['metrics', 'GET', '/metrics'],
    ['ready', 'GET', '/health/ready'],
  ];
  const call = async (method: string, path: string, body?: unknown) => {
    const started = performance.now();
    const res = await fetch(`${apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    await res.arrayBuffer();
    return { ms: performance.now() - started, status: res.status };
  };
  const out: EndpointFigure[] = [];
  for (const [name, method, path, body] of requests) {
    if (only && !only.has(name)) continue;
    const cold = await call(method, path, body);
    const times: number[] = [];
    for (let i = 0; i < ENDPOINT_CALLS; i++) times.push((await call(method, path, body)).ms);
    times.sort((a, b) => a - b);
    out.push({ name, coldMs: cold.ms, p50Ms: quantile(times, 0.5), p99Ms: quantile(times, 0.99), status: cold.status });
  }
  return out;
}

/**
 * mParticle's erasure request (a DSR) of one user of account 1's big audience (email and customer id), answered once
 * the subject's rows are gone: the first, then 20 more users, each request to the stack's API.
 */
async function erasures(stack: Stack): Promise<EndpointFigure> {
  const erase = async (n: number) => {
    const started = performance.now();
    const answer = await stack.send({
      type: 'dsr_processing_request',
      id: randomUUID(),
      timestamp_ms: Date.now(),
      firehose_version: '3.2.0',
      account: { account_id: 1, account_settings: { apiKey: keyOf(1), userIdField: 'customerId' } },
      subject_request_id: `size-erasure-${n}`,
      subject_request_type: 'erasure',
      regulation: 'gdpr',
      submitted_time: new Date().toISOString(),
      api_version: '3.0',
      subject_identities: { email: { encoding: 'raw', value: `user${n}@example.com` }, controller_customer_id: { encoding: 'raw', value: `c${n}` } },
    });
    return { ms: performance.now() - started, status: answer.status };
  };
  const cold = await erase(7001);
  const times: number[] = [];
  for (let i = 1; i <= ENDPOINT_CALLS; i++) times.push((await erase(7001 + i * 1013)).ms);
  times.sort((a, b) => a - b);
  return { name: 'erasure request (DSR), one user', coldMs: cold.ms, p50Ms: quantile(times, 0.5), p99Ms: quantile(times, 0.99), status: cold.status };
}

const ingestOptions = (o: SizeOptions, hotUsers?: number) => ({ senders: 16, profiles: 50, seconds: o.ingestSeconds, ...(hotUsers ? { hotUsers } : {}) });

/**
 * One database: set up like mParticle would (20 accounts, 200 audiences), loaded to `o`'s size unless `empty`, then
 * measured: every console and admin read, ingest (users spread, hot users), the drain of what ingest wrote, a drift
 * check of the big list, the retention prune (ingest running meanwhile), `db:migrate`, table and index sizes.
 */
export async function runSize(o: SizeOptions, empty: boolean): Promise<SizeFigures> {
  const fake = await startFakeIterable();
  fake.state.setConfig({ maxLoggedRequests: 1000 });
  const stack = await startStack('postgres', { LOG_LEVEL: 'warn', API_PROCESSES: '2', ITERABLE_API_BASE_URL: fake.url, DRIFT_SETTLE_MS: '60000' });
  try {
    const layout = await layOut(stack, fake);
    const now = Date.now();
    const loadStarted = performance.now();
    const rows = empty ? {} : await load(stack.dataSource, layout, o, now);
    if (!empty) seedFake(layout, o);
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    // A new API process: its first answers are the cold ones.
    const port = await freePort();
    const api = startApp('api', { ...stack.env, PORT: String(port) });
    const apiUrl = `http://127.0.0.1:${port}`;
    try {
      await waitForHttp(`${apiUrl}/health/live`, api, 60_000);
      const [oneCall] = await stack.dataSource.query(`SELECT id FROM delivery_calls ORDER BY created_at_ms DESC LIMIT 1`);
      process.stdout.write(`  measuring the console and admin reads…\n`);
      const reads = await endpoints(apiUrl, layout, oneCall?.id ?? '00000000-0000-0000-0000-000000000000');
      process.stdout.write(`  erasure requests of users of the big audience…\n`);
      reads.push(await erasures(stack));
      process.stdout.write(`  the same reads with ${o.backlog.toLocaleString('en')} inbox rows waiting (an outage's backlog)…\n`);
      const backlog = await withBacklog(stack.dataSource, layout, o.backlog, () => endpoints(apiUrl, layout, '', BACKLOG_READS));
      const lists = layout.lists.slice(0, 4);
      process.stdout.write(`  ingest, users spread (${o.ingestSeconds} s)…\n`);
      const spread = figures(
        'users spread',
        ingestOptions(o),
        await watchingAutovacuum(stack.dataSource, drive(apiUrl, ingestOptions(o), lists)),
        noContention,
      );
      process.stdout.write(`  ingest, hot users (${o.ingestSeconds} s)…\n`);
      const hot = figures(
        'hot users',
        ingestOptions(o, 400),
        await watchingAutovacuum(stack.dataSource, drive(apiUrl, ingestOptions(o, 400), lists)),
        noContention,
      );

      // The drain: what ingest left waiting, at a limit above what delivery needs (the database is what is measured).
      const [waiting] = await stack.dataSource.query(`SELECT COUNT(*) AS n FROM sync_inbox`);
      process.stdout.write(`  draining ${Number(waiting.n).toLocaleString('en')} inbox rows…\n`);
      const drainStarted = performance.now();
      const worker = await stack.startWorker({ LOG_LEVEL: 'warn', ITERABLE_REQUESTS_PER_SECOND: '100' });
      const workerIdleMiB = peakMemoryMiB(worker.child.pid);
      // The erasures asked above are completed by the same worker while it drains (their subjects' lists settling).
      const erasuresDone = (async () => {
        for (;;) {
          const [{ pending, done }] = await stack.dataSource.query(
            `SELECT COUNT(*) FILTER (WHERE state = 'pending') AS pending, COUNT(*) FILTER (WHERE state <> 'pending') AS done FROM erasure_requests`,
          );
          const seconds = (performance.now() - drainStarted) / 1000;
          if (Number(pending) === 0 || seconds > 1800) return { completed: Number(done), pending: Number(pending), seconds };
          await new Promise((r) => setTimeout(r, 250));
        }
      })();
      await watchingAutovacuum(stack.dataSource, stack.settled(1, 1_800_000));
      const drainSeconds = (performance.now() - drainStarted) / 1000;
      const erased = await erasuresDone;

      // A drift check of the big list, report only: Iterable holds exactly what delivery left.
      process.stdout.write(`  drift check of list ${layout.lists[0]}…\n`);
      const driftPath = `/v1/accounts/1/lists/${layout.lists[0]}/drift-check`;
      const driftStarted = performance.now();
      const asked = await stack.admin('POST', driftPath, { repair: false });
      if (asked.status !== 202) throw new Error(`drift check answered ${asked.status}: ${JSON.stringify(asked.body)}`);
      let report: { id: string; state: string; missing: number; extra: number; iterableMembers: number; error?: string } = asked.body;
      await waitFor(
        async () => {
          report = (await stack.admin('GET', driftPath)).body;
          return report.id === asked.body.id && report.state !== 'running';
        },
        1_800_000,
        200,
      );
      const driftSeconds = (performance.now() - driftStarted) / 1000;
      if (report.state !== 'done') throw new Error(`drift check ${report.state}: ${report.error}`);
      const workerPeakMiB = peakMemoryMiB(worker.child.pid);

      // The retention prune of the day past retention, with ingest running meanwhile.
      process.stdout.write(`  pruning a day of audit with ingest running…\n`);
      const audit = new AuditRepository(new Database(stack.dataSource));
      const during = drive(apiUrl, ingestOptions(o), lists);
      await new Promise((r) => setTimeout(r, 4000));
      const pruneStarted = performance.now();
      const pruned = await audit.prune(now - o.days * DAY_MS);
      const pruneSeconds = (performance.now() - pruneStarted) / 1000;
      const ingestDuring = figures('during the prune', ingestOptions(o), await during, noContention);

      // Sizes first: running the newest migration again (down, up) may empty its table.
      const tables = await tableSizes(stack.dataSource);
      const migrate = await timeMigrations(stack, () => drive(apiUrl, ingestOptions(o), lists), o);
      return {
        label: empty ? 'empty database' : 'loaded database',
        loadSeconds,
        rows,
        endpoints: reads,
        backlog,
        ingestSpread: spread,
        ingestHot: hot,
        drain: { changes: Number(waiting.n), seconds: drainSeconds, perSecond: Number(waiting.n) / drainSeconds },
        erasures: erased,
        drift: { seconds: driftSeconds, members: report.iterableMembers, missing: report.missing, extra: report.extra, workerIdleMiB, workerPeakMiB },
        prune: { seconds: pruneSeconds, ...pruned, ingestDuring },
        migrate,
        tables,
      };
    } finally {
      await api.stop('SIGTERM');
    }
  } finally {
    await stack.stop();
    await fake.close();
  }
}

/**
 * Runs `measure` with `rows` more inbox rows waiting, half on the big list, the rest over the others (as after an
 * outage), then takes them out again: inserted and deleted by statements, so the kept counts follow.
 */
async function withBacklog(dataSource: DataSource, layout: Layout, rows: number, measure: () => Promise<EndpointFigure[]>): Promise<SizeFigures['backlog']> {
  const [{ id: before }] = await dataSource.query(`SELECT COALESCE(MAX(id), 0) AS id FROM sync_inbox`);
  const started = performance.now();
  await dataSource.query(
    `INSERT INTO sync_inbox (list_id, member_key, created_at_ms)
     SELECT CASE WHEN g % 2 = 0 THEN $1::bigint ELSE ($2::bigint[])[1 + g % $3] END, 'backlog' || g || '@example.com', $4::bigint + g
     FROM generate_series(1, $5::integer) g`,
    [layout.lists[0], layout.lists.slice(1), layout.lists.length - 1, Date.now() - 3_600_000, rows],
  );
  const loadSeconds = (performance.now() - started) / 1000;
  try {
    return { rows, loadSeconds, endpoints: await measure() };
  } finally {
    await dataSource.query(`DELETE FROM sync_inbox WHERE id > $1`, [before]);
  }
}

const noContention = { deadlocks: 0, lockWaits: 0, apiPeakMiB: Number.NaN, workerPeakMiB: Number.NaN };

/**
 * `npm run db:migrate` with nothing to do; then the newest migration undone (TypeORM undoes in a transaction: the
 * plain statements) and run again by `db:migrate` 4 s into an ingest run, as a release would while mParticle sends.
 */
async function timeMigrations(stack: Stack, ingest: () => Promise<Driven>, o: SizeOptions): Promise<SizeFigures['migrate']> {
  const run = async () => {
    const started = performance.now();
    await promisify(execFile)(process.execPath, [join(WORKSPACE_ROOT, 'libs/persistence/dist/cli/migrate.js')], {
      env: { PATH: process.env['PATH'] ?? '', DATABASE_URL: stack.env['DATABASE_URL'] ?? '', NODE_ENV: 'production' },
    });
    return (performance.now() - started) / 1000;
  };
  const upToDateSeconds = await run();
  const [newest] = await stack.dataSource.query(`SELECT name FROM migrations ORDER BY id DESC LIMIT 1`);
  await stack.dataSource.undoLastMigration({ transaction: 'each' });
  process.stdout.write(`  db:migrate of ${String(newest?.name)} with ingest running…\n`);
  const during = ingest();
  await new Promise((r) => setTimeout(r, 4000));
  const newestSeconds = await run();
  const ingestDuring = figures('during db:migrate', ingestOptions(o), await during, noContention);
  return { upToDateSeconds, newestSeconds, newest: String(newest?.name), ingestDuring };
}

async function tableSizes(dataSource: DataSource): Promise<SizeFigures['tables']> {
  const rows: { relname: string; n: string; t: string; i: string }[] = await dataSource.query(
    `SELECT c.relname, c.reltuples AS n, pg_table_size(c.oid) AS t, pg_indexes_size(c.oid) AS i
     FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
     WHERE s.nspname = current_schema() AND c.relkind = 'r' ORDER BY pg_total_relation_size(c.oid) DESC LIMIT 12`,
  );
  return rows.map((r) => ({ name: r.relname, rows: Math.max(0, Number(r.n)), tableMiB: Number(r.t) / 2 ** 20, indexMiB: Number(r.i) / 2 ** 20 }));
}

/** The figures of the empty and the loaded database side by side. */
export function sizeReport(empty: SizeFigures, loaded: SizeFigures): string {
  const lines: string[] = [];
  const row = (name: string, a: string, b: string) => lines.push(`  ${name.padEnd(44)} ${a.padStart(28)} ${b.padStart(28)}`);
  lines.push('');
  row('', empty.label, loaded.label);
  row('loaded in', '', `${fmt(loaded.loadSeconds, 0)} s`);
  for (const [t, n] of Object.entries(loaded.rows)) row(`rows: ${t}`, '', n.toLocaleString('en'));
  lines.push('', '  console and admin reads: cold (first call of a new API process) / p50 / p99 of 20, ms');
  // One line a read: the empty database's figures beside the loaded one's, a p99 of 300 ms or more marked.
  const reads = (emptyReads: EndpointFigure[], loadedReads: EndpointFigure[]) => {
    const f = (x: EndpointFigure) =>
      `${x.status === 200 || x.status === 201 ? '' : `[${x.status}] `}${fmt(x.coldMs, 0)} / ${fmt(x.p50Ms, 0)} / ${fmt(x.p99Ms, 0)}`;
    for (const [i, e] of emptyReads.entries()) {
      const l = loadedReads[i] as EndpointFigure;
      row(e.name, f(e), f(l) + (l.p99Ms >= 300 ? ' SLOW' : ''));
    }
  };
  reads(empty.endpoints, loaded.endpoints);
  lines.push('', `  the same with an outage's backlog waiting (${loaded.backlog.rows.toLocaleString('en')} inbox rows): cold / p50 / p99 of 20, ms`);
  reads(empty.backlog.endpoints, loaded.backlog.endpoints);
  lines.push('');
  const ingest = (f: IngestFigures) => `${fmt(f.changesPerSecond, 0)}/s, p99 ${fmt(f.p99, 0)} ms${f.non200 ? `, ${f.non200} non-200` : ''}`;
  row('ingest, users spread: changes/s, ack p99', ingest(empty.ingestSpread), ingest(loaded.ingestSpread));
  row('ingest, hot users: changes/s, ack p99', ingest(empty.ingestHot), ingest(loaded.ingestHot));
  row('ingest during the prune', ingest(empty.prune.ingestDuring), ingest(loaded.prune.ingestDuring));
  const drain = (f: SizeFigures) => `${f.drain.changes.toLocaleString('en')} in ${fmt(f.drain.seconds)} s = ${fmt(f.drain.perSecond, 0)}/s`;
  row('drain of what ingest left (inbox rows)', drain(empty), drain(loaded));
  const erased = (f: SizeFigures) => `${f.erasures.completed} in ${fmt(f.erasures.seconds)} s${f.erasures.pending ? `, ${f.erasures.pending} PENDING` : ''}`;
  row('erasures completed, while draining', erased(empty), erased(loaded));
  const drift = (f: SizeFigures) => `${fmt(f.drift.seconds)} s, ${f.drift.members.toLocaleString('en')} on the list, ${f.drift.missing}/${f.drift.extra}`;
  row('drift check, big list (missing/extra)', drift(empty), drift(loaded));
  row(
    'worker memory idle / peak (VmHWM)',
    `${fmt(empty.drift.workerIdleMiB, 0)} / ${fmt(empty.drift.workerPeakMiB, 0)} MiB`,
    `${fmt(loaded.drift.workerIdleMiB, 0)} / ${fmt(loaded.drift.workerPeakMiB, 0)} MiB`,
  );
  const n = (x: number) => x.toLocaleString('en');
  const prune = (f: SizeFigures) =>
    `${fmt(f.prune.seconds)} s: ${n(f.prune.calls)} calls, ${n(f.prune.verdicts)} verdict + ${n(f.prune.successes)} compact rows`;
  row('retention prune of one day', prune(empty), prune(loaded));
  const migrate = (f: SizeFigures) => `${fmt(f.migrate.upToDateSeconds)} s / ${fmt(f.migrate.newestSeconds)} s`;
  row(`db:migrate: up to date / ${loaded.migrate.newest}`, migrate(empty), migrate(loaded));
  row('ingest during that db:migrate', ingest(empty.migrate.ingestDuring), ingest(loaded.migrate.ingestDuring));
  lines.push('', '  tables (loaded): rows (estimate), table MiB, index MiB');
  for (const t of loaded.tables)
    lines.push(
      `  ${t.name.padEnd(28)} ${Math.round(t.rows).toLocaleString('en').padStart(14)} ${fmt(t.tableMiB, 0).padStart(10)} ${fmt(t.indexMiB, 0).padStart(10)}`,
    );
  return lines.join('\n');
}
