import { randomBytes, randomUUID } from 'node:crypto';
import { Test } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { Environment, validateEnvironment } from '@audience-bridge/config';
import { RunningFakeIterable, startFakeIterable } from '@audience-bridge/fake-iterable';
import { IterableClient, IterableListReader, ListReadBudget } from '@audience-bridge/iterable-client';
import {
  AccountsRepository,
  ApiKeyCipher,
  AudienceConnectionsRepository,
  Database,
  DeliveryRepository,
  DRIVERS,
  DriftRepository,
  ListLeasesRepository,
  MembershipIngestRepository,
  MembershipsRepository,
} from '@audience-bridge/persistence';
import { createMigratedDataSource, TestDatabase } from '@audience-bridge/persistence/testing';
import { ListSyncProducer, SyncListJobData } from '@audience-bridge/queue';
import { IterableClientsService } from '../delivery/iterable-clients.service';
import { ListDeliveryService } from '../delivery/list-delivery.service';
import { acceptChanges, Target } from '../testing/accept-changes';
import { WorkerMetrics } from '../metrics/worker-metrics.service';
import { DriftCheckService } from './drift-check.service';
import { DriftMetrics } from './drift-metrics.service';
import { ListReadersService } from './list-readers.service';

// A drift check on its own (Nest testing module, SQLite and PostgreSQL, the in-process fake Iterable), with the
// real list delivery to carry out its repairs: the cases a whole-stack test would take minutes to set up.
describe.each(DRIVERS)('DriftCheckService on %s', (driver) => {
  let fake: RunningFakeIterable;
  let dataSource: DataSource;
  let database: TestDatabase;
  let ingest: MembershipIngestRepository;
  let drift: DriftRepository;
  let delivery: ListDeliveryService;
  let checks: DriftCheckService;
  let signals: SyncListJobData[];
  let accounts = 500;
  /** The read budget of the next reader (none: every read goes at once). */
  let budget: ListReadBudget | undefined;

  beforeAll(async () => {
    fake = await startFakeIterable();
    fake.state.setConfig({ listReadsPerMinute: 0 });
    ({ dataSource, database } = await createMigratedDataSource(driver));
    const db = new Database(dataSource);
    const cipher = new ApiKeyCipher(randomBytes(32).toString('base64'));
    ingest = new MembershipIngestRepository(db, cipher, 0);
    drift = new DriftRepository(db);
    const leases = new ListLeasesRepository(db);
    const env: Environment = validateEnvironment({ NODE_ENV: 'test', LIST_LEASE_TTL_MS: '5000', ITERABLE_TIMEOUT_MS: '2000', DRIFT_SETTLE_MS: '60000' });
    const workerMetrics = new WorkerMetrics(new MembershipsRepository(db), { depth: async () => 0 } as unknown as ListSyncProducer, db);
    const producer = { enqueue: async (lists: SyncListJobData[]) => void signals.push(...lists) };
    const moduleRef = await Test.createTestingModule({
      providers: [
        ListDeliveryService,
        DriftCheckService,
        { provide: Environment, useValue: env },
        { provide: ListLeasesRepository, useValue: leases },
        { provide: DeliveryRepository, useValue: new DeliveryRepository(db, leases) },
        { provide: AccountsRepository, useValue: new AccountsRepository(db, cipher) },
        { provide: AudienceConnectionsRepository, useValue: new AudienceConnectionsRepository(db) },
        { provide: DriftRepository, useValue: drift },
        { provide: WorkerMetrics, useValue: workerMetrics },
        { provide: DriftMetrics, useValue: new DriftMetrics(workerMetrics, drift) },
        { provide: ListSyncProducer, useValue: producer },
        {
          provide: IterableClientsService,
          useValue: {
            clientFor: (a: { iterableApiKey: string }) =>
              new IterableClient({ apiKey: a.iterableApiKey, dataCenter: 'US', baseUrlOverride: fake.url, timeoutMs: 2000 }),
          },
        },
        {
          provide: ListReadersService,
          useValue: {
            readerFor: (a: { iterableApiKey: string }) =>
              new IterableListReader({
                apiKey: a.iterableApiKey,
                dataCenter: 'US',
                baseUrlOverride: fake.url,
                timeoutMs: 2000,
                ...(budget ? { limiter: budget } : {}),
              }),
          },
        },
      ],
    }).compile();
    delivery = moduleRef.get(ListDeliveryService);
    checks = moduleRef.get(DriftCheckService);
    // Runs of 7 lines: every check merges many sorted files.
    checks.runLines = 7;
    checks.wholeListWaitMs = 300;
    checks.readRetryBaseMs = 100;
    checks.readTries = 3;
  });
  afterAll(async () => {
    await dataSource.destroy();
    await database.drop();
    await fake.close();
  });
  beforeEach(() => {
    signals = [];
    budget = undefined;
  });

  function newTarget(type: 'hybrid' | 'userId' = 'hybrid'): Target {
    const target = { accountId: ++accounts, apiKey: `it-key-${randomUUID()}` };
    return { ...target, listId: fake.state.createList(fake.state.createProject({ apiKey: target.apiKey, type, dataCenter: 'US' }), `l${target.accountId}`).id };
  }

  async function accept(
    target: Target,
    users: (string | { email: string; userId: string })[],
    action: 'add' | 'delete' = 'add',
    timestampMs = 1000,
  ): Promise<void> {
    await acceptChanges(ingest, target, users, action, timestampMs);
  }

  /** Time passes: everything delivered so far is older than the settle window. */
  const settle = (listId: number) => dataSource.query(`UPDATE list_members SET updated_at_ms = updated_at_ms - 120000 WHERE list_id = ${listId}`);
  const emails = (n: number, prefix = 'm') => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(3, '0')}@example.com`);
  const members = (listId: number) => (fake.state.members(listId) ?? []).map((m) => m.email ?? m.userId).sort();
  const inbox = async (listId: number) => Number((await dataSource.query(`SELECT COUNT(*) AS n FROM sync_inbox WHERE list_id = ${listId}`))[0].n);
  async function check(target: Target, repair: boolean, identifier: 'email' | 'userId' = 'email', repairExtras?: 'ours' | 'all') {
    const { report } = await drift.request({
      accountId: target.accountId,
      listId: target.listId,
      repair,
      trigger: 'api',
      identifier,
      ...(repairExtras ? { repairExtras } : {}),
    });
    const outcome = await checks.run(report.id);
    return { outcome, report: await drift.find(report.id) };
  }

  it('reports strangers added and members removed by hand with exact counts, and a report-only check changes nothing', async () => {
    const target = newTarget();
    await accept(target, emails(40));
    expect(await delivery.syncList(target.listId)).toEqual({ kind: 'done' });
    await settle(target.listId);
    fake.state.operatorEdit(target.listId, {
      add: [{ email: 'stranger1@x.io' }, { email: 'stranger2@x.io' }, { email: 'Stranger3@x.io' }],
      remove: [{ email: 'm005@example.com' }, { email: 'm017@example.com' }],
    });
    const before = await dataSource.query(`SELECT member_key, state, updated_at_ms FROM list_members WHERE list_id = ${target.listId} ORDER BY member_key`);
    const calls = fake.state.requests.length;

    const { outcome, report } = await check(target, false);
    expect(outcome).toBe('done');
    expect(report).toMatchObject({
      state: 'done',
      repair: false,
      missing: 2,
      extra: 3,
      repaired: 0,
      leftOut: 0,
      refused: 0,
      iterableMembers: 41,
      desiredMembers: 40,
      missingSample: ['m005@example.com', 'm017@example.com'],
      extraSample: ['stranger1@x.io', 'stranger2@x.io', 'stranger3@x.io'],
      checkedAtMs: expect.any(Number),
      error: null,
      phase: null,
    });
    // Nothing changed: one read, no call, no inbox row, the members as they were.
    expect(fake.state.requests.slice(calls).map((r) => r.apiPath)).toEqual(['/api/lists/getUsers', `/api/lists/${target.listId}/size`]);
    expect(await inbox(target.listId)).toBe(0);
    expect(await dataSource.query(`SELECT member_key, state, updated_at_ms FROM list_members WHERE list_id = ${target.listId} ORDER BY member_key`)).toEqual(
      before,
    );
    expect(signals).toEqual([]);
  });

  it('repairs through delivery: the list ends exact, every call audited with the reason "drift repair", and a second check finds nothing', async () => {
    const target = newTarget();
    await accept(target, emails(25));
    await accept(target, ['gone@example.com'], 'delete', 2000);
    await delivery.syncList(target.listId);
    await settle(target.listId);
    fake.state.operatorEdit(target.listId, { add: [{ email: 'stranger@x.io' }, { email: 'gone@example.com' }], remove: [{ email: 'm001@example.com' }] });

    const { report } = await check(target, true, 'email', 'all');
    expect(report).toMatchObject({ state: 'done', missing: 1, extra: 2, repaired: 3, repairExtras: 'all', extraKept: 0 });
    expect(signals).toEqual([{ listId: target.listId }]);
    expect(await inbox(target.listId)).toBe(3);
    expect(await delivery.syncList(target.listId)).toEqual({ kind: 'done' });
    expect(members(target.listId)).toEqual(emails(25));
    const verdicts = await dataSource.query(
      `SELECT v.email, v.action, v.outcome, v.reason, v.audience_id FROM delivery_verdicts v JOIN delivery_calls c ON c.id = v.call_id ` +
        `WHERE c.list_id = ${target.listId} AND v.reason = 'drift repair' ORDER BY v.email`,
    );
    expect(verdicts.map((v: Record<string, unknown>) => [v['email'], v['action'], v['outcome']])).toEqual([
      ['gone@example.com', 'delete', 'delivered'],
      ['m001@example.com', 'add', 'delivered'],
      ['stranger@x.io', 'delete', 'delivered'],
    ]);
    await settle(target.listId);
    expect((await check(target, true)).report).toMatchObject({ state: 'done', missing: 0, extra: 0, repaired: 0 });
  });

  it('repairExtras ours (the default) unsubscribes only extras this service once subscribed; members added by hand stay, counted as kept', async () => {
    const target = newTarget();
    await accept(target, emails(10));
    // Only ever removed by us (a delete of a member never added): we never subscribed it.
    await accept(target, ['never-ours@example.com'], 'delete', 500);
    await delivery.syncList(target.listId);
    await accept(target, ['m003@example.com'], 'delete', 2000);
    await delivery.syncList(target.listId);
    await settle(target.listId);
    // By hand: our removed member put back, a stranger, and the member we only ever unsubscribed.
    fake.state.operatorEdit(target.listId, {
      add: [{ email: 'm003@example.com' }, { email: 'hand@x.io' }, { email: 'never-ours@example.com' }],
      remove: [{ email: 'm007@example.com' }],
    });

    const { report } = await check(target, true);
    expect(report).toMatchObject({ state: 'done', missing: 1, extra: 3, repaired: 2, repairExtras: 'ours', extraKept: 2 });
    await delivery.syncList(target.listId);
    const want = emails(10).filter((e) => e !== 'm003@example.com');
    expect(members(target.listId)).toEqual([...want, 'hand@x.io', 'never-ours@example.com'].sort());
    const unsubscribed = await dataSource.query(
      `SELECT v.email FROM delivery_verdicts v JOIN delivery_calls c ON c.id = v.call_id ` +
        `WHERE c.list_id = ${target.listId} AND v.reason = 'drift repair' AND v.action = 'delete'`,
    );
    expect(unsubscribed.map((v: { email: string }) => v.email)).toEqual(['m003@example.com']);

    // Asked for all, the strangers go too.
    await settle(target.listId);
    expect((await check(target, true, 'email', 'all')).report).toMatchObject({ extra: 2, repaired: 2, repairExtras: 'all', extraKept: 0 });
    await delivery.syncList(target.listId);
    expect(members(target.listId)).toEqual(want.sort());
  });

  describe('a list read cut short is never acted on', () => {
    /** 40 members p8.c.0 … p8.c.39, delivered and settled, and one stranger added by hand. */
    async function cutList(): Promise<Target> {
      const target = newTarget();
      await accept(
        target,
        Array.from({ length: 40 }, (_, i) => `p8.c.${i}@ex.com`),
      );
      expect(await delivery.syncList(target.listId)).toEqual({ kind: 'done' });
      await settle(target.listId);
      fake.state.operatorEdit(target.listId, { add: [{ email: 'stranger@x.io' }] });
      return target;
    }
    /** Where the body is cut: `lines` whole lines, then `partial` characters of the next. */
    const cutAt = (lines: number, partial = 0) => Array.from({ length: lines }, (_, i) => `p8.c.${i}@ex.com\n`.length).reduce((a, b) => a + b, 0) + partial;
    const reads = (target: Target) => fake.state.requests.filter((r) => r.apiKey === target.apiKey && r.apiPath === '/api/lists/getUsers').length;

    it.each([
      ['mid-line, the last line cut to "p8.c.15@ex" (no final newline)', { truncateBodyAtChars: cutAt(15, 'p8.c.15@ex'.length) }],
      ['at a line boundary (every line whole, 25 members short of the size)', { truncateBodyAtChars: cutAt(15) }],
      ['by its final newline alone', { dropFinalNewline: true }],
    ])('cut %s: the read is taken again, and the check finds only the real drift', async (_name, cut) => {
      const target = await cutList();
      fake.state.setFaults({ forced: [{ path: '/api/lists/getUsers', apiKey: target.apiKey, ...cut }] });
      const { outcome, report } = await check(target, true, 'email', 'all');
      expect(outcome).toBe('done');
      expect(report).toMatchObject({ state: 'done', missing: 0, extra: 1, repaired: 1, iterableMembers: 41, extraSample: ['stranger@x.io'] });
      expect(reads(target)).toBe(2);
      await delivery.syncList(target.listId);
      expect(members(target.listId)).toEqual(Array.from({ length: 40 }, (_, i) => `p8.c.${i}@ex.com`).sort());
    });

    it('a read cut every time fails the check retryably and repairs nothing', async () => {
      const target = await cutList();
      fake.state.setFaults({ forced: [{ path: '/api/lists/getUsers', apiKey: target.apiKey, truncateBodyAtChars: cutAt(15, 10), times: 10 }] });
      const { outcome, report } = await check(target, true);
      expect(outcome).toBe('failed');
      expect(report).toMatchObject({ state: 'failed', repaired: 0, missing: 0, extra: 0 });
      expect(report?.error).toMatch(/a partial read.*never whole: nothing compared, nothing repaired; check again later/);
      expect(reads(target)).toBe(3);
      expect(await inbox(target.listId)).toBe(0);
      expect(signals).toEqual([]);
      expect(await dataSource.query(`SELECT COUNT(*) AS n FROM list_members WHERE list_id = ${target.listId} AND state <> 'subscribed'`)).toEqual([
        { n: driver === 'postgres' ? '0' : 0 },
      ]);
    });
  });

  it('leaves out members in flight (pending, delivered lately, unanswered) and counts those Iterable refused apart', async () => {
    const target = newTarget();
    fake.state.forget(fake.state.projectFor(target.apiKey), ['refused@example.com']);
    await accept(target, [...emails(10), 'refused@example.com']);
    await delivery.syncList(target.listId);
    await settle(target.listId);
    // Pending: an add not delivered yet, and a delete not delivered yet.
    await accept(target, ['pending@example.com']);
    await accept(target, ['m002@example.com'], 'delete', 3000);
    // Delivered within the settle window, then removed by hand (Iterable's read may not show the add yet).
    await dataSource.query(`UPDATE list_members SET updated_at_ms = ${Date.now()} WHERE list_id = ${target.listId} AND member_key = 'm003@example.com'`);
    // Unanswered (a timeout): its outcome is unknown.
    await dataSource.query(`UPDATE list_members SET state = 'unknown' WHERE list_id = ${target.listId} AND member_key = 'm004@example.com'`);
    fake.state.operatorEdit(target.listId, { remove: [{ email: 'm003@example.com' }, { email: 'm004@example.com' }, { email: 'm009@example.com' }] });

    const { report } = await check(target, true);
    expect(report).toMatchObject({ state: 'done', missing: 1, extra: 0, leftOut: 4, refused: 1, repaired: 1, missingSample: ['m009@example.com'] });
  });

  it('compares a userId-keyed project by userId (preferUserId) and repairs a stranger known only by its userId', async () => {
    const target = newTarget('userId');
    await drift.putSettings(target.accountId, { identifier: 'userId' });
    await accept(
      target,
      Array.from({ length: 12 }, (_, i) => ({ email: `u${i}@example.com`, userId: `cust-${i}` })),
    );
    await delivery.syncList(target.listId);
    await settle(target.listId);
    fake.state.operatorEdit(target.listId, { add: [{ userId: 'intruder-1' }], remove: [{ userId: 'cust-3' }] });

    const { report } = await check(target, true, 'userId', 'all');
    expect(report).toMatchObject({
      state: 'done',
      identifier: 'userId',
      missing: 1,
      extra: 1,
      repaired: 2,
      missingSample: ['cust-3'],
      extraSample: ['intruder-1'],
    });
    expect(fake.state.requests.filter((r) => r.apiPath === '/api/lists/getUsers').at(-1)?.path).toContain('preferUserId=true');
    await delivery.syncList(target.listId);
    expect(members(target.listId)).toEqual(Array.from({ length: 12 }, (_, i) => `u${i}@example.com`).sort());
    const [intruder] = await dataSource.query(`SELECT member_key, state FROM list_members WHERE list_id = ${target.listId} AND user_id = 'intruder-1'`);
    expect(intruder).toEqual({ member_key: 'userId:intruder-1', state: 'unsubscribed' });
  });

  it('fails with a hint when a list compared by email answers userIds, and on a refused key', async () => {
    const target = newTarget('userId');
    await accept(target, [
      { email: 'a@example.com', userId: 'id-a' },
      { email: 'b@example.com', userId: 'id-b' },
    ]);
    await delivery.syncList(target.listId);
    const wrong = await check(target, true);
    expect(wrong.outcome).toBe('failed');
    expect(wrong.report?.error).toMatch(/no email \(userIds\?\).*"identifier": "userId"/);
    expect(await inbox(target.listId)).toBe(0);

    const unknownKey = newTarget();
    await accept(unknownKey, ['a@example.com']);
    fake.state.projects.delete(unknownKey.apiKey);
    const refused = await check(unknownKey, false);
    expect(refused.report).toMatchObject({ state: 'failed', error: expect.stringMatching(/answered 401.*bad api key/) });
    expect(refused.report?.error).not.toContain(unknownKey.apiKey);
  });

  it('writes the report of a check that failed while the database was away once it is back, instead of leaving it running', async () => {
    // A database restart drops the connection mid-check; the failure's own write meets it still away (found by the
    // model checker: the report stayed `running` until the stale takeover two minutes later).
    const target = newTarget();
    await accept(target, ['a@example.com']);
    fake.state.projects.delete(target.apiKey);
    const fail = jest.spyOn(drift, 'fail');
    fail.mockRejectedValueOnce(new Error('Connection terminated unexpectedly')).mockRejectedValueOnce(new Error('the database system is starting up'));
    try {
      const { outcome, report } = await check(target, false);
      expect(outcome).toBe('failed');
      expect(report).toMatchObject({ state: 'failed', error: expect.stringMatching(/bad api key/) });
      expect(fail).toHaveBeenCalledTimes(3);
    } finally {
      fail.mockRestore();
    }
  });

  it('gives a check back when storage goes away in the middle of it, and the next signal runs it to the end', async () => {
    // Found by the model checker (seed 800 PostgreSQL, a shared project): a database restart during a repairing
    // check failed it for good ("unexpected error: … not currently accepting connections"), so the stranger an
    // operator had added stayed on the list although the repair was asked for.
    const target = newTarget();
    await accept(target, emails(5));
    await delivery.syncList(target.listId);
    fake.state.operatorEdit(target.listId, { add: [{ email: 'stranger@x.io' }] });
    const { report: asked } = await drift.request({
      accountId: target.accountId,
      listId: target.listId,
      repair: true,
      trigger: 'api',
      identifier: 'email',
      repairExtras: 'all',
    });
    const desired = jest.spyOn(drift, 'audiencesOf').mockRejectedValueOnce(new Error('database "ab" is not currently accepting connections'));
    try {
      expect(await checks.run(asked.id)).toBe('released');
      expect(await drift.find(asked.id)).toMatchObject({ state: 'running', phase: 'queued' });
      // The workers' drift sweep signals it again: it is an orphan a few seconds later.
      expect(await drift.orphans(Date.now() + 6_000)).toContain(asked.id);
      expect(await checks.run(asked.id)).toBe('done');
    } finally {
      desired.mockRestore();
    }
    expect(await drift.find(asked.id)).toMatchObject({ state: 'done', extra: 1, repaired: 1 });
    await delivery.syncList(target.listId);
    expect(fake.state.members(target.listId)?.map((m) => m.email)).not.toContain('stranger@x.io');
  });

  it('runs a check whose claim was written but not read back (the database went away between the two)', async () => {
    const target = newTarget();
    await accept(target, ['a@example.com']);
    await delivery.syncList(target.listId);
    // The claim's UPDATE commits; its answer (the report read back) is lost to the restart.
    const realClaim = drift.claim.bind(drift);
    const claim = jest.spyOn(drift, 'claim').mockImplementationOnce(async (id, holder, now) => {
      await realClaim(id, holder, now);
      throw new Error('Connection terminated unexpectedly');
    });
    try {
      const { outcome, report } = await check(target, false);
      expect(outcome).toBe('done');
      expect(report).toMatchObject({ state: 'done', missing: 0, extra: 0 });
      expect(claim).toHaveBeenCalledTimes(2);
    } finally {
      claim.mockRestore();
    }
  });

  it('waits for a whole-list resend to be expanded, and gives up on one that stays', async () => {
    const target = newTarget();
    await accept(target, ['a@example.com']);
    await delivery.syncList(target.listId);
    await dataSource.query(`INSERT INTO sync_inbox (list_id, member_key, created_at_ms) VALUES (${target.listId}, NULL, ${Date.now()})`);
    const { report } = await check(target, false);
    expect(report).toMatchObject({ state: 'failed', error: expect.stringMatching(/whole list waits to be sent again/) });
    expect(fake.state.requests.filter((r) => r.apiKey === target.apiKey && r.apiPath === '/api/lists/getUsers')).toEqual([]);
  });

  // Last: the service stays stopped afterwards.
  it('gives a check back, untouched, when the worker shuts down while the check waits for the read budget', async () => {
    const target = newTarget();
    await accept(target, ['a@example.com']);
    await delivery.syncList(target.listId);
    let waiting = false;
    budget = {
      acquire: (_key, options) =>
        new Promise((_resolve, reject) => {
          waiting = true;
          options?.signal?.addEventListener('abort', () => reject(options.signal?.reason));
        }),
    };
    const { report } = await drift.request({ accountId: target.accountId, listId: target.listId, repair: true, trigger: 'api', identifier: 'email' });
    const running = checks.run(report.id);
    while (!waiting) await new Promise((r) => setTimeout(r, 10));
    expect((await drift.find(report.id))?.phase).toBe('waiting for the read budget');
    checks.beforeApplicationShutdown();
    expect(await running).toBe('released');
    expect(await drift.find(report.id)).toMatchObject({ state: 'running', phase: 'queued', startedAtMs: null, error: null });
    // Another worker's sweep finds it 5 s after it was asked for.
    expect(await drift.orphans(Date.now() + 6_000)).toContain(report.id);
    expect(await checks.run(report.id)).toBe('skipped');
  });
});
