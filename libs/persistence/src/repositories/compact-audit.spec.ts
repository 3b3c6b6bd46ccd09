import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { Database } from '../database';
import { tableReads } from '../testing/table-reads';
import { createMigratedDataSource, DRIVERS, TestDatabase } from '../testing/test-database';
import { AuditRepository } from './audit.repository';
import { CallRow, forgetSuccesses, forgetVerdicts, insertCallAndVerdicts, successesOf, VerdictRow } from './audit-rows';
import { OperationsRepository } from './operations.repository';

/** The compact audit: simple deliveries in one row per call, audience and action; everything else a row per user. */
describe.each(DRIVERS)('compact delivery audit on %s', (driver) => {
  let dataSource: DataSource;
  let database: TestDatabase;
  let db: Database;
  let audit: AuditRepository;
  let ops: OperationsRepository;

  beforeAll(async () => {
    ({ dataSource, database } = await createMigratedDataSource(driver));
    db = new Database(dataSource);
    audit = new AuditRepository(db);
    ops = new OperationsRepository(db);
  });
  afterAll(async () => {
    await dataSource.destroy();
    await database.drop();
  });
  beforeEach(async () => {
    // The audit, and the quarter hours' figures kept of it (delivery-buckets.ts: they count what was ever recorded).
    const audit = ['delivery_calls', 'delivery_verdicts', 'delivery_successes', 'audience_connections'];
    const kept = ['call_buckets', 'call_bucket_changes', 'outcome_buckets', 'outcome_bucket_changes', 'call_seconds', 'call_second_changes', 'call_peaks'];
    for (const t of [...audit, ...kept]) await dataSource.query(`DELETE FROM ${t}`);
  });

  const call = (overrides: Partial<CallRow> = {}): CallRow => ({
    id: randomUUID(),
    accountId: 1,
    listId: 100,
    action: 'subscribe',
    subscriberCount: 0,
    httpStatus: 200,
    successCount: 0,
    failureCount: 0,
    durationMs: 5,
    error: null,
    dryRun: false,
    createdAtMs: Date.now(),
    ...overrides,
  });
  const verdict = (userKey: string, overrides: Partial<VerdictRow> = {}): VerdictRow => ({
    accountId: 1,
    audienceId: 10,
    userKey,
    mpid: /^\d+$/.test(userKey) ? userKey : null,
    action: 'add',
    email: `${userKey}@example.com`,
    userId: null,
    outcome: 'delivered',
    reason: null,
    retryable: false,
    ...overrides,
  });
  const record = (c: CallRow, verdicts: VerdictRow[]) => db.transaction((manager) => insertCallAndVerdicts(db, manager, c, verdicts));
  const rows = (table: string) => dataSource.query(`SELECT * FROM ${table} ORDER BY id`) as Promise<Record<string, unknown>[]>;

  it('keeps the simple deliveries of a list call as keys, one row per audience and action, and a whole row for everything else', async () => {
    const c = call();
    await record(c, [
      verdict('501'),
      verdict('customer:c-eve', { audienceId: 11 }),
      verdict('502'),
      verdict('503', { outcome: 'failed', reason: 'invalid email' }),
      verdict('504', { outcome: 'skipped', reason: 'no email' }),
      verdict('505', { reason: 'drift repair' }),
      verdict('506', { action: 'delete' }),
    ]);
    const compact = await rows('delivery_successes');
    expect(compact.map((r) => [Number(r['audience_id']), r['action'], Number(r['n']), JSON.parse(String(r['user_keys']))])).toEqual([
      [10, 'add', 2, ['501', '502']],
      [11, 'add', 1, ['customer:c-eve']],
      [10, 'delete', 1, ['506']],
    ]);
    expect(compact.every((r) => r['call_id'] === c.id && Number(r['list_id']) === 100 && Number(r['created_at_ms']) === c.createdAtMs)).toBe(true);
    // No email or userId in the compact form: only the keys.
    expect(JSON.stringify(compact)).not.toContain('@example.com');
    expect((await rows('delivery_verdicts')).map((r) => [r['user_key'], r['outcome'], r['reason']])).toEqual([
      ['503', 'failed', 'invalid email'],
      ['504', 'skipped', 'no email'],
      ['505', 'delivered', 'drift repair'],
    ]);
  });

  it('keeps a row per user for attribute calls (list 0), which an erasure finds by email and userId', async () => {
    await record(call({ listId: 0, action: 'fields' }), [verdict('501', { audienceId: 0, action: 'fields', userId: 'u-1' })]);
    expect(await rows('delivery_successes')).toEqual([]);
    expect((await rows('delivery_verdicts')).map((r) => [r['user_key'], r['email'], r['user_id']])).toEqual([['501', '501@example.com', 'u-1']]);
  });

  it("reads a user's history from both forms, newest first, and a call's users from both (what did not simply succeed first)", async () => {
    const first = call({ createdAtMs: 1_000 });
    const second = call({ createdAtMs: 2_000, action: 'unsubscribe' });
    const third = call({ createdAtMs: 3_000 });
    await record(first, [verdict('501'), verdict('5010')]);
    await record(second, [verdict('501', { action: 'delete' })]);
    await record(third, [verdict('501', { outcome: 'failed', reason: 'invalid email' }), verdict('777')]);
    const history = await audit.verdictsFor('501');
    expect(history.map((v) => [v.callId, v.action, v.outcome, v.reason])).toEqual([
      [third.id, 'add', 'failed', 'invalid email'],
      [second.id, 'delete', 'delivered', null],
      [first.id, 'add', 'delivered', null],
    ]);
    // "501" is not found in "5010": keys match whole.
    expect((await audit.verdictsFor('50')).length).toBe(0);
    const detail = await ops.delivery(third.id);
    expect(detail?.verdicts.map((v) => [v.userKey, v.mpid, v.outcome])).toEqual([
      ['501', '501', 'failed'],
      ['777', '777', 'delivered'],
    ]);
    expect(detail?.audienceIds).toEqual([10]);
  });

  it('finds and forgets hostile keys exactly: quotes, backslashes, commas, brackets, non-ASCII', async () => {
    const hostile = ['customer:a"b', 'customer:a\\b', 'customer:a,b', 'customer:]', 'customer:ünï', 'customer:a'];
    const c = call();
    await record(
      c,
      hostile.map((k) => verdict(k)),
    );
    for (const key of hostile) expect((await successesOf(db, [key], 10)).map((v) => v.userKey)).toEqual([key]);
    const removed = await db.transaction((manager) => forgetSuccesses(db, 1, ['customer:a"b', 'customer:ünï'], manager));
    expect(removed).toBe(2);
    const [row] = await rows('delivery_successes');
    expect(JSON.parse(String(row?.['user_keys']))).toEqual(['customer:a\\b', 'customer:a,b', 'customer:]', 'customer:a']);
    expect(Number(row?.['n'])).toBe(4);
  });

  it('forgets keys of one account only, and deletes a row it empties', async () => {
    await record(call(), [verdict('501'), verdict('502')]);
    await record(call({ accountId: 2 }), [verdict('501', { accountId: 2 })]);
    await record(call(), [verdict('501', { audienceId: 12 })]);
    await db.transaction((manager) => forgetSuccesses(db, 1, ['501'], manager));
    const left = await rows('delivery_successes');
    expect(left.map((r) => [Number(r['account_id']), Number(r['audience_id']), JSON.parse(String(r['user_keys']))])).toEqual([
      [1, 10, ['502']],
      [2, 10, ['501']],
    ]);
    expect((await successesOf(db, ['501'], 10, 1)).length).toBe(0);
    expect((await successesOf(db, ['501'], 10)).map((v) => v.accountId)).toEqual([2]);
  });

  it("two erasures forgetting different keys of one row at once both hold (neither writes back the other's key)", async () => {
    await record(call(), [verdict('501'), verdict('502'), verdict('503')]);
    let releaseFirst!: () => void;
    const held = new Promise<void>((resolve) => (releaseFirst = resolve));
    const first = db.transaction(async (manager) => {
      await forgetSuccesses(db, 1, ['501'], manager);
      await held;
    });
    await new Promise((r) => setTimeout(r, 100));
    const second = db.transaction((manager) => forgetSuccesses(db, 1, ['502'], manager));
    await new Promise((r) => setTimeout(r, 200));
    releaseFirst();
    await Promise.all([first, second]);
    const [row] = await rows('delivery_successes');
    expect(JSON.parse(String(row?.['user_keys']))).toEqual(['503']);
    expect(Number(row?.['n'])).toBe(1);
  });

  it('counts simple deliveries of the last 24 hours per connection, beside verdict rows of either form, and prunes both', async () => {
    const now = Date.now();
    await dataSource.query(db.sql(`INSERT INTO audience_connections (account_id, audience_id, audience_name, list_id) VALUES (1, 10, 'A', 100)`));
    await record(call({ createdAtMs: now - 1000 }), [verdict('501'), verdict('502'), verdict('503', { outcome: 'failed', reason: 'invalid email' })]);
    await record(call({ createdAtMs: now - 500, action: 'unsubscribe' }), [verdict('504', { action: 'delete' })]);
    // A delivered row of the whole form (written before the compact form existed) still counts.
    await record(call({ createdAtMs: now - 400 }), [verdict('505', { reason: 'drift repair' })]);
    await record(call({ createdAtMs: now - 2 * 86_400_000 }), [verdict('506')]);
    const [connection] = await ops.connections(now);
    expect(connection?.last24h).toEqual({ adds: 3, removes: 1, failed: 1 });
    const pruned = await audit.prune(now - 86_400_000);
    expect(pruned).toMatchObject({ calls: 1, successes: 1, verdicts: 0 });
    expect((await rows('delivery_successes')).length).toBe(2);
  });
});

// Found by `npm run bench:size` (1.5 million verdict rows): an erasure's last step deleted its subject's verdicts by
// reading every verdict row of the account (260 - 720 ms, in the transaction that completes the erasure; a real
// customer's 30 days hold tens of millions).
describe.each(DRIVERS)('forgetVerdicts on %s', (driver) => {
  let dataSource: DataSource;
  let database: TestDatabase;
  let db: Database;
  beforeAll(async () => {
    ({ dataSource, database } = await createMigratedDataSource(driver));
    db = new Database(dataSource);
    // [account, user key, email, userId]
    const rows: [number, string, string | null, string | null][] = [
      ...Array.from({ length: 3000 }, (_, i): [number, string, string, string] => [1 + (i % 2), `k${i}`, `u${i}@example.com`, `c${i}`]),
      [1, 'jane', 'jane@example.com', null],
      [1, 'jane-c', null, 'cust-jane'],
      [2, 'jane-other-account', 'jane@example.com', 'cust-jane'],
    ];
    await db.insertRows(
      'delivery_verdicts',
      [
        { name: 'call_id', type: 'text' },
        { name: 'account_id', type: 'bigint' },
        { name: 'audience_id', type: 'bigint' },
        { name: 'list_id', type: 'bigint' },
        { name: 'user_key', type: 'text' },
        { name: 'action', type: 'text' },
        { name: 'email', type: 'text' },
        { name: 'user_id', type: 'text' },
        { name: 'outcome', type: 'text' },
        { name: 'created_at_ms', type: 'bigint' },
      ],
      rows.map(([account, key, email, userId]) => ['c', account, 1, 10, key, 'add', email, userId, 'failed', 1]),
    );
    if (driver === 'postgres') await db.query(`ANALYZE delivery_verdicts`);
  });
  afterAll(async () => {
    await dataSource.destroy();
    await database.drop();
  });

  it("deletes the subject's verdicts of the given accounts, by email or userId, through indexes", async () => {
    const { result: removed, rows: read } = await tableReads(db, 'delivery_verdicts', (manager) =>
      forgetVerdicts(db, [1], { emails: ['jane@example.com'], userIds: ['cust-jane'] }, manager),
    );
    expect(removed).toBe(2);
    const left = await db.query<{ user_key: string }>(`SELECT user_key FROM delivery_verdicts WHERE user_key LIKE 'jane%' ORDER BY user_key`);
    expect(left.map((r) => r.user_key)).toEqual(['jane-other-account']);
    expect(await db.query(`SELECT COUNT(*) AS n FROM delivery_verdicts`)).toEqual([{ n: driver === 'postgres' ? '3001' : 3001 }]);
    if (driver === 'postgres') expect(read).toBeLessThan(100);
  });
});
