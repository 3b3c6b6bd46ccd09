import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { Database } from '../database';
import { tableReads } from '../testing/table-reads';
import { createMigratedDataSource, DRIVERS, TestDatabase } from '../testing/test-database';
import { AuditRepository } from './audit.repository';
import { MembershipsRepository } from './memberships.repository';
import { lastSuccesses, OperationsRepository, redactErrorSample } from './operations.repository';

describe('redactErrorSample', () => {
  it.each([
    ['Iterable answered 401 for key abcdefghijklmnopqrstuvwxyz123456', 'Iterable answered 401 for key ab***'],
    ['api_key=short1 failed', 'api_key=*** failed'],
    ['{"Api-Key": "k-123"}', '{"Api-Key": "***"}'],
    ['Authorization: Bearer tok', 'Authorization: ***'],
    ['call 0b8a3a1e-5c1f-4a55-9d7e-1f2e3d4c5b6a timed out', 'call 0b8a3a1e-5c1f-4a55-9d7e-1f2e3d4c5b6a timed out'],
  ])('masks %j', (input, expected) => {
    expect(redactErrorSample(input)).toBe(expected);
  });

  it('cuts long errors to 300 characters and keeps null', () => {
    expect(redactErrorSample('x '.repeat(400))?.length).toBe(300);
    expect(redactErrorSample(null)).toBeNull();
  });
});

describe.each(DRIVERS)('operations queries on %s', (driver) => {
  let dataSource: DataSource;
  let database: TestDatabase;
  let ops: OperationsRepository;
  let audit: AuditRepository;
  let memberships: MembershipsRepository;
  const now = Date.UTC(2026, 10, 30, 12, 0, 30);

  beforeAll(async () => {
    ({ dataSource, database } = await createMigratedDataSource(driver));
    const db = new Database(dataSource);
    ops = new OperationsRepository(db);
    memberships = new MembershipsRepository(db);
    audit = new AuditRepository(db);
    const q = (sql: string, params: unknown[] = []) => db.query(sql, params);
    const t = (iso: string) => new Date(iso).toISOString().replace('T', ' ').replace('Z', '');
    await q(
      `INSERT INTO accounts (account_id, user_id_field, data_center, status, suspended_reason, dry_run, api_key_last4, created_at, updated_at) VALUES
      (1, 'customerId', 'US', 'active', NULL, ?, '0001', ?, ?),
      (2, 'mpid', 'US', 'suspended', 'Iterable refused the API key (401)', ?, '0002', ?, ?),
      (3, 'mpid', 'US', 'active', NULL, ?, NULL, ?, ?)`,
      [false, t('2026-11-01'), t('2026-11-01'), false, t('2026-11-01'), t('2026-11-01'), true, t('2026-11-01'), t('2026-11-01')],
    );
    await q(
      `INSERT INTO audience_connections (account_id, audience_id, audience_name, list_id, status, suspended_reason, created_at, updated_at) VALUES
      (1, 10, 'VIP', 100, 'active', NULL, ?, ?), (1, 11, 'Churn', 101, 'suspended', 'Iterable list 101 does not exist', ?, ?),
      (1, 12, 'No list yet', NULL, 'active', NULL, ?, ?), (2, 20, 'App', 200, 'active', NULL, ?, ?), (3, 30, 'Trial', 300, 'active', NULL, ?, ?),
      (3, 31, 'Gone', 301, 'removed', NULL, ?, ?)`,
      Array(12).fill(t('2026-11-01')),
    );
    const membership = (account: number, audience: number, key: string, mpid: string | null, email: string | null, userId: string | null) =>
      q(
        `INSERT INTO memberships (account_id, audience_id, user_key, mpid, action, email, user_id, source_message_id, timestamp_ms, version, updated_at)
         VALUES (?, ?, ?, ?, 'add', ?, ?, 'm-1', 1000, 1, ?)`,
        [account, audience, key, mpid, email, userId, t('2026-11-01')],
      );
    await membership(1, 10, '501', '501', 'ada@example.com', 'c-ada');
    await membership(1, 12, '501', '501', 'ada@example.com', 'c-ada');
    await membership(1, 12, '502', '502', 'bob@example.com', 'c-bob');
    await membership(1, 10, 'customer:c-eve', null, 'eve@example.com', 'c-eve');
    await membership(2, 20, '601', '601', 'ada@example.com', '601');
    await q(
      `INSERT INTO list_members (list_id, member_key, email, user_id, state, reason, updated_at_ms) VALUES
      (100, 'ada@example.com', 'ada@example.com', 'c-ada', 'subscribed', NULL, ?), (100, 'x@example.com', 'x@example.com', NULL, 'failed', 'invalid email', ?),
      (100, 'y@example.com', 'y@example.com', NULL, 'failed', 'forgotten', ?), (200, 'ada@example.com', 'ada@example.com', '601', 'failed', 'forgotten', ?)`,
      [now - 5000, now - 5000, now - 5000, now - 5000],
    );
    await q(`INSERT INTO sync_inbox (list_id, member_key, created_at_ms) VALUES (200, 'ada@example.com', ?), (200, NULL, ?)`, [now - 90_000, now - 1000]);
    await q(
      `INSERT INTO list_leases (list_id, holder, generation, expires_at, attempts, next_attempt_at, failing_since, last_error)
       VALUES (200, NULL, 1, 0, 3, ?, ?, ?)`,
      [now + 4000, now - 60_000, 'Iterable 503 for api_key=abcdefghijklmnopqrstuvwxyz'],
    );
    const call = async (id: string, at: number, action: string, status: number | null, ok: number, failed: number, dryRun = false, list = 100, account = 1) =>
      q(
        `INSERT INTO delivery_calls (id, account_id, list_id, action, subscriber_count, http_status, success_count, failure_count, duration_ms,
          error, dry_run, created_at_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 12, ?, ?, ?)`,
        [id, account, list, action, ok + failed, status, ok, failed, status === 200 ? null : `HTTP ${status}`, dryRun, at],
      );
    const verdict = (
      callId: string,
      at: number,
      audience: number,
      key: string,
      mpid: string | null,
      action: string,
      outcome: string,
      reason: string | null,
      retryable = false,
      list = 100,
      account = 1,
    ) =>
      q(
        `INSERT INTO delivery_verdicts (call_id, account_id, audience_id, list_id, user_key, mpid, action, email, user_id, outcome, reason,
          retryable, created_at_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?)`,
        [callId, account, audience, list, key, mpid, action, `${key}@example.com`, outcome, reason, retryable, at],
      );
    const c1 = '00000000-0000-4000-8000-000000000001';
    await call(c1, now - 20_000, 'subscribe', 200, 2, 1);
    await verdict(c1, now - 20_000, 10, '501', '501', 'add', 'delivered', null);
    await verdict(c1, now - 20_000, 10, 'customer:c-eve', null, 'add', 'delivered', null);
    await verdict(c1, now - 20_000, 10, '503', '503', 'add', 'failed', 'invalid email');
    await call('00000000-0000-4000-8000-000000000002', now - 19_500, 'unsubscribe', 200, 4, 0);
    await call('00000000-0000-4000-8000-000000000003', now - 19_200, 'subscribe', 429, 0, 3);
    await call('00000000-0000-4000-8000-000000000004', now - 120_000, 'subscribe', 200, 7, 0);
    await call('00000000-0000-4000-8000-000000000005', now - 3 * 3_600_000, 'subscribe', 200, 9, 0);
    await call('00000000-0000-4000-8000-000000000006', now - 10_000, 'subscribe', null, 5, 0, true, 300, 3);
    await call('00000000-0000-4000-8000-000000000007', now - 2 * 86_400_000, 'subscribe', 200, 1, 0, false, 200, 2);
    await verdict('00000000-0000-4000-8000-000000000007', now - 2 * 86_400_000, 20, '601', '601', 'add', 'failed', 'forgotten', false, 200, 2);
  });
  afterAll(async () => {
    await dataSource.destroy();
    await database.drop();
  });

  it('sums the last hour in minute buckets: adds, removes, refused members, calls and failed calls; dry runs apart', async () => {
    const s = await ops.summary('hour', now);
    expect(s.buckets).toHaveLength(60);
    expect(s.to).toBe('2026-11-30T12:01:00.000Z');
    expect(s.totals).toEqual({ adds: 9, removes: 4, failed: 1, calls: 4, failedCalls: 1, dryRunCalls: 1 });
    const current = s.buckets[59];
    expect(current.start).toBe('2026-11-30T12:00:00.000Z');
    expect(current).toMatchObject({ adds: 2, removes: 4, failed: 1, calls: 3, failedCalls: 1, dryRunCalls: 1 });
    expect(s.buckets[57]).toMatchObject({ start: '2026-11-30T11:58:00.000Z', adds: 7, calls: 1 });
  });

  it('sums the last day in quarter hours', async () => {
    const s = await ops.summary('day', now);
    expect(s.buckets).toHaveLength(96);
    expect(s.totals).toMatchObject({ adds: 18, calls: 5 });
    expect(s.buckets.find((b) => b.start === '2026-11-30T09:00:00.000Z')).toMatchObject({ adds: 9, calls: 1 });
  });

  it('tells the busiest account calls per second over the last minute and at its peak', async () => {
    expect(await ops.callRate(now - 3_600_000, now)).toEqual({ lastMinutePerSecond: 0.05, peakPerSecond: 3, peakAccountId: 1 });
  });

  it('lists every connection with its status, reason, 24 h figures, what waits and what is held', async () => {
    const rows = await ops.connections(now);
    const row = (account: number, audience: number) => rows.find((r) => r.accountId === account && r.audienceId === audience);
    expect(rows).toHaveLength(6);
    expect(row(1, 10)).toMatchObject({
      status: 'active',
      listId: 100,
      reason: null,
      lastSuccessAt: new Date(now - 19_500).toISOString(),
      last24h: { adds: 2, removes: 0, failed: 1 },
      listMembers: 1,
      failedMembers: 2,
      pending: 0,
      failing: null,
      apiKeyLast4: '0001',
      userIdField: 'customerId',
    });
    expect(row(1, 11)).toMatchObject({ status: 'suspended', suspendedBy: 'connection', reason: 'Iterable list 101 does not exist' });
    expect(row(1, 12)).toMatchObject({ status: 'held', held: 2, listId: null, reason: 'the audience names no Iterable list' });
    expect(row(2, 20)).toMatchObject({
      status: 'suspended',
      suspendedBy: 'account',
      reason: 'Iterable refused the API key (401)',
      pending: 2,
      oldestPendingAgeMs: 90_000,
      last24h: { adds: 0, removes: 0, failed: 0 },
      failedMembers: 1,
      failing: {
        since: new Date(now - 60_000).toISOString(),
        attempts: 3,
        nextAttemptAt: new Date(now + 4000).toISOString(),
        lastError: 'Iterable 503 for api_key=***',
      },
    });
    expect(row(3, 30)).toMatchObject({ status: 'dry-run', dryRun: true, lastSuccessAt: null });
    expect(row(3, 31)).toMatchObject({ status: 'removed' });
  });

  it('opens a call with its verdicts and failure reasons, and nothing for an unknown id', async () => {
    const detail = await ops.delivery('00000000-0000-4000-8000-000000000001');
    expect(detail).toMatchObject({
      action: 'subscribe',
      httpStatus: 200,
      successCount: 2,
      failureCount: 1,
      audienceIds: [10],
      verdictsTruncated: false,
      errorSample: null,
    });
    expect(detail?.verdicts.map((v) => [v.userKey, v.outcome, v.reason])).toEqual([
      ['501', 'delivered', null],
      ['customer:c-eve', 'delivered', null],
      ['503', 'failed', 'invalid email'],
    ]);
    expect(detail?.failureReasons).toEqual([{ reason: 'invalid email', count: 1 }]);
    expect((await ops.delivery('00000000-0000-4000-8000-000000000003'))?.errorSample).toBe('HTTP 429');
    expect(await ops.delivery(randomUUID())).toBeUndefined();
    expect((await ops.delivery('00000000-0000-4000-8000-000000000001', 2))?.verdictsTruncated).toBe(true);
  });

  it('finds a user by email (any case) across accounts, with desired state, what Iterable has and the history', async () => {
    const found = await ops.findUsers({ email: ' ADA@example.com ' });
    expect(found.map((m) => [m.accountId, m.audienceId, m.state])).toEqual([
      [1, 10, 'subscribed'],
      [1, 12, 'held'],
      [2, 20, 'pending'],
    ]);
    expect(found[0]).toMatchObject({
      audienceName: 'VIP',
      listId: 100,
      desired: { action: 'add', email: 'ada@example.com', userId: 'c-ada' },
      iterable: { state: 'subscribed', userId: 'c-ada' },
    });
    expect(found[0].history.map((v) => v.outcome)).toEqual(['delivered']);
    expect(found[2].history.map((v) => [v.outcome, v.reason])).toEqual([['failed', 'forgotten']]);
  });

  it('finds a user by customer id (Customer ID accounts, or a profile without mpid) and by mpid', async () => {
    expect((await ops.findUsers({ customerId: 'c-ada' })).map((m) => [m.accountId, m.audienceId])).toEqual([
      [1, 10],
      [1, 12],
    ]);
    const eve = await ops.findUsers({ customerId: 'c-eve' });
    expect(eve).toHaveLength(1);
    expect(eve[0]).toMatchObject({ mpid: null, userKey: 'customer:c-eve', state: 'none' });
    expect(eve[0].history.map((v) => v.outcome)).toEqual(['delivered']);
    expect(await ops.findUsers({ customerId: '601' })).toEqual([]);
    expect((await ops.findUsers({ mpid: '502' })).map((m) => m.state)).toEqual(['held']);
    // By key, one probe of the primary key per connection (membership-keys.ts): every audience, every account.
    const at = (found: { accountId: number; audienceId: number }[]) => found.map((m) => [m.accountId, m.audienceId]);
    expect(at(await ops.findUsers({ mpid: '501' }))).toEqual([
      [1, 10],
      [1, 12],
    ]);
    expect(at(await ops.findUsers({ mpid: '601' }))).toEqual([[2, 20]]);
    expect(await ops.findUsers({ mpid: 'customer:c-eve' })).toEqual([]);
    expect(at(await ops.findUsers({ customerId: 'c-bob' }))).toEqual([[1, 12]]);
    expect(at(await memberships.byMpid('501'))).toEqual([
      [1, 10],
      [1, 12],
    ]);
    expect(await memberships.byMpid('customer:c-eve')).toEqual([]);
  });

  it('finds a Customer ID user whose customer id is its mpid (the userId index keeps only userIds apart from the key)', async () => {
    await dataSource.query(
      `INSERT INTO memberships (account_id, audience_id, user_key, mpid, action, email, user_id, source_message_id, timestamp_ms, version, updated_at)
       VALUES (1, 10, '777', '777', 'add', 'sam@example.com', '777', 'm-1', 1000, 1, CURRENT_TIMESTAMP)`,
    );
    try {
      expect((await ops.findUsers({ customerId: '777' })).map((m) => [m.accountId, m.audienceId, m.userKey])).toEqual([[1, 10, '777']]);
    } finally {
      await dataSource.query(`DELETE FROM memberships WHERE user_key = '777'`);
    }
  });

  it('previews a replay without changing anything: failed members per filter', async () => {
    const inbox = async () => Number((await dataSource.query(`SELECT COUNT(*) AS n FROM sync_inbox`))[0].n);
    const before = await inbox();
    expect(await audit.replayPreview({})).toEqual({ requeued: 3, lists: [100, 200] });
    expect(await audit.replayPreview({ accountId: 1, audienceId: 10 })).toEqual({ requeued: 2, lists: [100] });
    expect(await audit.replayPreview({ reason: 'forgotten' })).toEqual({ requeued: 2, lists: [100, 200] });
    expect(await audit.replayPreview({ accountId: 3 })).toEqual({ requeued: 0, lists: [] });
    expect(await audit.replayPreview({ accountId: 3, reason: 'dry run' })).toEqual({ requeued: 0, lists: [300, 301] });
    expect(await inbox()).toBe(before);
  });
});

// Found by `npm run bench:size` (500,000 calls over 30 days): the connections' "last success" read every call.
describe("the connections' last success on PostgreSQL", () => {
  let dataSource: DataSource;
  let database: TestDatabase;
  let db: Database;
  beforeAll(async () => {
    ({ dataSource, database } = await createMigratedDataSource('postgres'));
    db = new Database(dataSource);
    await db.execute(
      `INSERT INTO audience_connections (account_id, audience_id, audience_name, list_id)
       VALUES (1, 1, 'a', 10), (1, 2, 'b', 10), (2, 1, 'c', 20), (2, 2, 'd', 30)`,
    );
    // 20,000 calls to lists 10 and 20, the newest of list 20 failing (a 429) and a dry run; none to list 30.
    await db.query(
      `INSERT INTO delivery_calls (id, account_id, list_id, action, subscriber_count, http_status, success_count, failure_count, duration_ms, dry_run,
                                   created_at_ms)
       SELECT gen_random_uuid(), 1 + n % 2, 10 * (1 + n % 2), 'subscribe', 1, 200, 1, 0, 5, false, 1000 + n FROM generate_series(1, 20000) n`,
    );
    await db.query(
      `INSERT INTO delivery_calls (id, account_id, list_id, action, subscriber_count, http_status, success_count, failure_count, duration_ms, dry_run,
                                   created_at_ms)
       VALUES (gen_random_uuid(), 2, 20, 'subscribe', 1, 429, 0, 1, 5, false, 50000), (gen_random_uuid(), 2, 20, 'subscribe', 1, NULL, 0, 0, 0, true, 50001)`,
    );
    await db.query(`ANALYZE delivery_calls`);
  });
  afterAll(async () => {
    await dataSource.destroy();
    await database.drop();
  });

  it("is each list's newest successful call, found without reading every call", async () => {
    const { result: found, rows: read } = await tableReads(db, 'delivery_calls', (manager) => lastSuccesses(db, manager));
    expect([...found].sort((a, b) => a.listId - b.listId)).toEqual([
      { listId: 10, atMs: 1000 + 20000 },
      { listId: 20, atMs: 1000 + 20000 - 1 },
      { listId: 30, atMs: null },
    ]);
    expect(read).toBeLessThan(100);
  });
});
