import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import type { DataSource } from 'typeorm';
import { startFakeIterable } from '@audience-bridge/fake-iterable';
import { JsonBody, membershipMessage, startStack, waitFor } from '@audience-bridge/harness';
import { peakMemoryMiB } from './memory';
import { fmt } from './stats';

export interface DriftOptions {
  /** Members of the list, on both sides. */
  members: number;
  /** Members removed by hand, and strangers added by hand (each). */
  differences: number;
  driver: 'postgres' | 'sqlite';
}

export interface DriftFigures {
  title: string;
  seedSeconds: number;
  /** From the POST to the verdict (report only). */
  checkSeconds: number;
  /** From the list read being sent to the verdict: getUsers streamed into the sort, the database read, the merge. */
  readSeconds: number;
  /** The worker's account of the report-only check's phases, and its sorted runs. */
  phases: string;
  missing: number;
  extra: number;
  iterableMembers: number;
  desiredMembers: number;
  /** A repair of the differences: from the POST to the list exact in the fake. */
  repairSeconds: number;
  repairExact: boolean;
  workerIdleMiB: number;
  workerPeakMiB: number;
  workerRssAfterMiB: number;
}

const ACCOUNT = 1;
const AUDIENCE = 1;
const API_KEY = 'bench-drift-key-000000000000000000';
const email = (n: number) => `member${n}@example.com`;

const rssMiB = (pid: number | undefined): number => {
  try {
    const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
    return match ? Number(match[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
};

/**
 * A drift check of a list of `members` members: the desired state and what delivery knows are written straight
 * into the database (as a delivered list looks), the fake Iterable holds the same members except `differences`
 * removed by hand and as many strangers added; a worker then checks the list (report only), and checks it again
 * with repair. Measures the check's time and the worker's peak memory (VmHWM), and proves the counts exact.
 */
export async function runDrift(o: DriftOptions): Promise<DriftFigures> {
  const fake = await startFakeIterable();
  const project = fake.state.createProject({ apiKey: API_KEY, type: 'hybrid', dataCenter: 'US' });
  const listId = fake.state.createList(project, 'bench-drift').id;
  const stack = await startStack(o.driver, {
    LOG_LEVEL: 'warn',
    ITERABLE_API_BASE_URL: fake.url,
    ITERABLE_REQUESTS_PER_SECOND: '50',
    DRIFT_SETTLE_MS: '60000',
  });
  try {
    const seedStarted = performance.now();
    // The account, its key and the audience → list connection, the way mParticle creates them.
    const first = await stack.send(
      membershipMessage(
        'bench-drift-0',
        1_700_000_000_000,
        [{ mpid: '1', email: email(0), customerId: 'c0', audiences: [{ audienceId: AUDIENCE, listId, action: 'add' }] }],
        { accountId: ACCOUNT, apiKey: API_KEY },
      ),
    );
    if (first.status !== 200) throw new Error(`first message answered ${first.status}`);
    await seedDatabase(stack.dataSource, o.driver, listId, o.members);
    // Iterable: the same members, but `differences` removed by hand and as many strangers added.
    const removedEvery = Math.floor(o.members / o.differences);
    for (let start = 0; start < o.members; start += 100_000) {
      const users = [];
      for (let n = start; n < Math.min(o.members, start + 100_000); n++) if (n % removedEvery !== 1) users.push({ email: email(n), listIds: [listId] });
      fake.state.seedUsers(project, users);
    }
    fake.state.seedUsers(
      project,
      Array.from({ length: o.differences }, (_, i) => ({ email: `stranger${i}@example.org`, listIds: [listId] })),
    );
    const seedSeconds = (performance.now() - seedStarted) / 1000;

    // At `log` the worker says each check's phases (read, database, merge) in its verdict line.
    const worker = await stack.startWorker({ LOG_LEVEL: 'log' });
    await new Promise((r) => setTimeout(r, 3000));
    const workerIdleMiB = peakMemoryMiB(worker.child.pid);

    const path = `/v1/accounts/${ACCOUNT}/lists/${listId}/drift-check`;
    const run = async (repair: boolean): Promise<{ report: JsonBody; seconds: number }> => {
      const started = performance.now();
      // The strangers were added by hand: a repair removes them only when asked for all extras (the default keeps them).
      const answer = await stack.admin('POST', path, repair ? { repair, repairExtras: 'all' } : { repair });
      if (answer.status !== 202) throw new Error(`drift check answered ${answer.status}: ${JSON.stringify(answer.body)}`);
      let report: JsonBody;
      await waitFor(
        async () => {
          report = (await stack.admin('GET', path)).body;
          return report.id === answer.body.id && report.state !== 'running';
        },
        1_800_000,
        100,
      );
      if (report.state !== 'done') throw new Error(`drift check ${report.state}: ${report.error}`);
      return { report, seconds: (performance.now() - started) / 1000 };
    };
    const { report, seconds } = await run(false);
    const verdictLine =
      worker
        .output()
        .split('\n')
        .find((l) => l.includes(`drift check ${report.id} of list`) && l.includes('sorted runs')) ?? '';
    const phases = /\(([^()]*)\), (\d+) sorted runs/.exec(verdictLine);
    const workerPeakMiB = peakMemoryMiB(worker.child.pid);
    const workerRssAfterMiB = rssMiB(worker.child.pid);

    const repairStarted = performance.now();
    const repaired = await run(true);
    await stack.settled(ACCOUNT, 600_000);
    const repairSeconds = (performance.now() - repairStarted) / 1000;
    const list = fake.state.lists.get(listId);
    if (!list) throw new Error(`list ${listId} is gone from the fake`);
    const held = list.members.size;
    const strangersLeft = fake.state.listUserIdentifiers(project, list, false).filter((e) => e.startsWith('stranger')).length;
    return {
      title: `${o.driver}, a list of ${o.members.toLocaleString('en')} members, ${o.differences} removed by hand and ${o.differences} strangers added`,
      seedSeconds,
      checkSeconds: seconds,
      readSeconds: (Date.parse(report.finishedAt) - Date.parse(report.checkedAt)) / 1000,
      phases: phases ? `${phases[1]}; ${phases[2]} sorted runs of 100,000 lines` : 'n/a',
      missing: report.missing,
      extra: report.extra,
      iterableMembers: report.iterableMembers,
      desiredMembers: report.desiredMembers,
      repairSeconds,
      repairExact: repaired.report.repaired === 2 * o.differences && held === o.members && strangersLeft === 0,
      workerIdleMiB,
      workerPeakMiB,
      workerRssAfterMiB,
    };
  } finally {
    await stack.stop();
    await fake.close();
  }
}

/** A delivered list of `members` members, written straight into the tables (memberships and list_members). */
async function seedDatabase(dataSource: DataSource, driver: 'postgres' | 'sqlite', listId: number, members: number): Promise<void> {
  const old = Date.now() - 86_400_000;
  if (driver === 'postgres') {
    await dataSource.query(
      `INSERT INTO memberships (account_id, audience_id, user_key, mpid, action, email, user_id, source_message_id, timestamp_ms)
       SELECT ${ACCOUNT}, ${AUDIENCE}, 'c' || g, g::text, 'add', 'member' || g || '@example.com', 'c' || g, 'bench-drift-seed', 1700000000000
       FROM generate_series(1, ${members - 1}) g
       ON CONFLICT DO NOTHING`,
    );
    await dataSource.query(
      `INSERT INTO list_members (list_id, member_key, email, user_id, state, reason, recheck_at_ms, updated_at_ms)
       SELECT ${listId}, 'member' || g || '@example.com', 'member' || g || '@example.com', 'c' || g, 'subscribed', NULL, NULL, ${old}
       FROM generate_series(0, ${members - 1}) g
       ON CONFLICT (list_id, member_key) DO UPDATE SET updated_at_ms = excluded.updated_at_ms`,
    );
    await dataSource.query('ANALYZE');
    return;
  }
  await dataSource.query(
    `WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ${members - 1})
     INSERT INTO memberships (account_id, audience_id, user_key, mpid, action, email, user_id, source_message_id, timestamp_ms)
     SELECT ${ACCOUNT}, ${AUDIENCE}, 'c' || n, CAST(n AS TEXT), 'add', 'member' || n || '@example.com', 'c' || n, 'bench-drift-seed', 1700000000000
     FROM g WHERE true
     ON CONFLICT DO NOTHING`,
  );
  await dataSource.query(
    `WITH RECURSIVE g(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM g WHERE n < ${members - 1})
     INSERT INTO list_members (list_id, member_key, email, user_id, state, reason, recheck_at_ms, updated_at_ms)
     SELECT ${listId}, 'member' || n || '@example.com', 'member' || n || '@example.com', 'c' || n, 'subscribed', NULL, NULL, ${old} FROM g WHERE true
     ON CONFLICT (list_id, member_key) DO UPDATE SET updated_at_ms = excluded.updated_at_ms`,
  );
}

export function driftRows(f: DriftFigures): [string, string][] {
  return [
    ['seeded (database and fake Iterable) in', `${fmt(f.seedSeconds)} s`],
    ['drift check, report only: asked to verdict', `${fmt(f.checkSeconds)} s (from the read to the verdict ${fmt(f.readSeconds)} s)`],
    ["phases (the worker's log)", f.phases],
    [
      'found',
      `${f.missing} missing, ${f.extra} extra (${f.iterableMembers.toLocaleString('en')} on Iterable's list, ${f.desiredMembers.toLocaleString('en')} desired)`,
    ],
    ['drift check with repair, to the list exact', `${fmt(f.repairSeconds)} s${f.repairExact ? ', exact' : ', NOT exact'}`],
    [
      'worker memory: VmHWM idle / VmHWM after the check / RSS after',
      `${fmt(f.workerIdleMiB, 0)} / ${fmt(f.workerPeakMiB, 0)} / ${fmt(f.workerRssAfterMiB, 0)} MiB`,
    ],
  ];
}
