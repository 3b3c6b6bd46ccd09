import { randomBytes, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { MembershipChange } from '@audience-bridge/domain';
import { ApiKeyCipher } from '../crypto/api-key-cipher';
import { Database } from '../database';
import { MembershipEntity } from '../entities';
import { createMigratedDataSource, DRIVERS, TestDatabase } from '../testing/test-database';
import { AuditRepository } from './audit.repository';
import { CallRecord, DeliveryRepository, PendingChange, Settlement } from './delivery.repository';
import { ListLeasesRepository } from './list-leases.repository';
import { MembershipIngestRepository } from './membership-ingest.repository';

describe.each(DRIVERS)('delivery persistence on %s', (driver) => {
  let dataSource: DataSource;
  let database: TestDatabase;
  let ingest: MembershipIngestRepository;
  let delivery: DeliveryRepository;
  let leases: ListLeasesRepository;
  let audit: AuditRepository;

  beforeAll(async () => {
    ({ dataSource, database } = await createMigratedDataSource(driver));
    const db = new Database(dataSource);
    ingest = new MembershipIngestRepository(db, new ApiKeyCipher(randomBytes(32).toString('base64')), 0);
    delivery = new DeliveryRepository(db);
    leases = new ListLeasesRepository(db);
    audit = new AuditRepository(db);
  });
  afterAll(async () => {
    await dataSource.destroy();
    await database.drop();
  });
  beforeEach(async () => {
    for (const t of ['memberships', 'received_messages', 'audience_connections', 'accounts', 'list_leases', 'delivery_calls', 'delivery_verdicts']) await dataSource.query(`DELETE FROM ${t}`);
  });

  async function seed(users: string[], action: 'add' | 'delete' = 'add', timestampMs = 1000, id = randomUUID()): Promise<void> {
    const changes: MembershipChange[] = users.map((u) => ({
      accountId: 1, audienceId: 10, listId: 100, userKey: u, mpid: u, action, subscriber: { email: `${u}@example.com` }, sourceMessageId: id, timestampMs,
    }));
    await ingest.record({ accountId: 1, messageId: id, settings: { apiKey: 'key-12345678', userIdField: 'customerId', dataCenter: 'US' }, connections: [{ audienceId: 10, audienceName: 'A', listId: 100 }], changes });
  }

  const call = (action: CallRecord['action'], n: number, overrides: Partial<CallRecord> = {}): CallRecord => ({
    id: randomUUID(), accountId: 1, listId: 100, action, subscriberCount: n, httpStatus: 200, successCount: n, failureCount: 0, durationMs: 12, error: null, dryRun: false, createdAtMs: Date.now(), ...overrides,
  });
  const verdicts = (changes: PendingChange[], settlement: Settlement, outcome: 'delivered' | 'failed' | 'skipped' = 'delivered') =>
    changes.map((change) => ({ change, outcome, reason: 'reason' in settlement ? settlement.reason : null, retryable: settlement.state === 'retry', settlement }));
  const states = async () => (await dataSource.getRepository(MembershipEntity).find({ order: { userKey: 'ASC' } })).map((m) => [m.userKey, m.state, m.attempts, m.lastError]);

  it('leases a list to one holder at a time, lets a lapsed lease go, and releases', async () => {
    expect(await leases.acquire(1, 100, 'worker-a', 1000, 0)).toBe(true);
    expect(await leases.acquire(1, 100, 'worker-b', 1000, 500)).toBe(false);
    expect(await leases.acquire(1, 100, 'worker-a', 1000, 600)).toBe(true);
    expect(await leases.renew(1, 100, 'worker-a', 1000, 700)).toBe(true);
    expect(await leases.acquire(1, 101, 'worker-b', 1000, 700)).toBe(true);
    expect(await leases.acquire(1, 100, 'worker-b', 1000, 1701)).toBe(true);
    expect(await leases.renew(1, 100, 'worker-a', 1000, 1702)).toBe(false);
    await leases.release(1, 100, 'worker-a');
    expect(await leases.acquire(1, 100, 'worker-c', 1000, 1703)).toBe(false);
    await leases.release(1, 100, 'worker-b');
    expect(await leases.acquire(1, 100, 'worker-c', 1000, 1704)).toBe(true);
  });

  it('gives pending changes per action, oldest first, at most the limit', async () => {
    await seed(['u1', 'u2', 'u3']);
    await seed(['u4'], 'delete', 500);
    expect((await delivery.pending(1, 100, 'add', 2)).map((c) => c.userKey)).toEqual(['u1', 'u2']);
    expect((await delivery.pending(1, 100, 'delete', 10)).map((c) => [c.userKey, c.email, c.version])).toEqual([['u4', 'u4@example.com', 1]]);
    expect(await delivery.dueLists()).toEqual([{ accountId: 1, listId: 100 }]);
  });

  it('records a call with its verdicts and settles each change', async () => {
    await seed(['u1', 'u2', 'u3']);
    const [a, b, c] = await delivery.pending(1, 100, 'add', 10);
    const record = call('subscribe', 3, { successCount: 2, failureCount: 1 });
    await delivery.record(record, [...verdicts([a, b], { state: 'delivered' }), ...verdicts([c], { state: 'failed', reason: 'forgotten' }, 'failed')]);
    expect(await states()).toEqual([
      ['u1', 'delivered', 1, null],
      ['u2', 'delivered', 1, null],
      ['u3', 'failed', 1, 'forgotten'],
    ]);
    const { items } = await audit.deliveries({ accountId: 1 }, 10);
    expect(items).toEqual([expect.objectContaining({ id: record.id, action: 'subscribe', subscriberCount: 3, successCount: 2, failureCount: 1, httpStatus: 200, dryRun: false })]);
    expect((await audit.verdictsFor('u3')).map((v) => [v.outcome, v.reason])).toEqual([['failed', 'forgotten']]);
    expect(await delivery.dueLists()).toEqual([]);
  });

  it('never marks a newer change done with an older delivery', async () => {
    await seed(['u1']);
    const sent = await delivery.pending(1, 100, 'add', 10);
    await seed(['u1'], 'delete', 2000);
    await delivery.record(call('subscribe', 1), verdicts(sent, { state: 'delivered' }));
    const [row] = await dataSource.getRepository(MembershipEntity).find();
    expect(row).toMatchObject({ action: 'delete', state: 'pending', version: 2 });
  });

  it('schedules a transient failure for later and gives up after the last attempt', async () => {
    await seed(['u1']);
    let [c] = await delivery.pending(1, 100, 'add', 10);
    await delivery.record(call('subscribe', 1, { httpStatus: 429 }), verdicts([c], { state: 'retry', reason: 'rate limited', nextAttemptAt: Date.now() + 60_000, maxAttempts: 2 }, 'failed'));
    expect(await states()).toEqual([['u1', 'pending', 1, 'rate limited']]);
    expect(await delivery.pending(1, 100, 'add', 10)).toEqual([]);
    expect(await delivery.dueLists()).toEqual([]);
    [c] = await delivery.pending(1, 100, 'add', 10, Date.now() + 61_000);
    await delivery.record(call('subscribe', 1, { httpStatus: 503 }), verdicts([c], { state: 'retry', reason: 'server error', nextAttemptAt: Date.now(), maxAttempts: 2 }, 'failed'));
    expect(await states()).toEqual([['u1', 'failed', 2, 'server error']]);
  });

  it('replays failed changes that match, and says which lists to sync', async () => {
    await seed(['u1', 'u2']);
    const [a, b] = await delivery.pending(1, 100, 'add', 10);
    await delivery.record(call('subscribe', 2), [...verdicts([a], { state: 'failed', reason: 'forgotten' }, 'failed'), ...verdicts([b], { state: 'failed', reason: 'invalid email' }, 'failed')]);
    expect(await audit.replay({ reason: 'invalid email' })).toEqual({ requeued: 1, lists: [{ accountId: 1, listId: 100 }] });
    expect(await states()).toEqual([
      ['u1', 'failed', 1, 'forgotten'],
      ['u2', 'pending', 0, null],
    ]);
    expect((await audit.replay({ accountId: 2 })).requeued).toBe(0);
  });

  it('leaves suspended accounts out of the sweep', async () => {
    await seed(['u1']);
    await dataSource.query(`UPDATE accounts SET status = 'suspended'`);
    expect(await delivery.dueLists()).toEqual([]);
  });

  it('skips pending changes of a removed audience', async () => {
    await seed(['u1']);
    await dataSource.query(`UPDATE audience_connections SET status = 'removed'`);
    expect(await delivery.skipRemovedAudiences(1, 100)).toBe(1);
    expect((await dataSource.getRepository(MembershipEntity).find())[0]).toMatchObject({ state: 'skipped', skipReason: 'audience removed' });
  });

  it('prunes remembered message ids by the database clock', async () => {
    const twoDaysAgo = driver === 'postgres' ? `CURRENT_TIMESTAMP - INTERVAL '2 days'` : `datetime('now', '-2 days')`;
    await dataSource.query(`INSERT INTO received_messages (account_id, message_id, change_count, duplicate_count, received_at) VALUES (1, 'old', 1, 0, ${twoDaysAgo})`);
    await dataSource.query(`INSERT INTO received_messages (account_id, message_id, change_count, duplicate_count, received_at) VALUES (1, 'new', 1, 0, CURRENT_TIMESTAMP)`);
    expect((await audit.prune(Date.now() - 24 * 3600 * 1000)).messages).toBe(1);
    expect((await dataSource.query(`SELECT message_id FROM received_messages`)).map((r: { message_id: string }) => r.message_id)).toEqual(['new']);
  });

  it('pages deliveries newest first with a cursor, filters them, and prunes old ones', async () => {
    await seed(['u1']);
    for (let i = 0; i < 5; i++) await delivery.record(call('subscribe', 1, { createdAtMs: 1000 + i, ...(i === 4 ? { httpStatus: 500 } : {}) }), []);
    const first = await audit.deliveries({}, 2);
    expect(first.items.map((d) => d.time)).toEqual([new Date(1004).toISOString(), new Date(1003).toISOString()]);
    const second = await audit.deliveries({}, 2, first.nextCursor ?? undefined);
    const third = await audit.deliveries({}, 2, second.nextCursor ?? undefined);
    expect([...second.items, ...third.items].map((d) => d.time)).toEqual([1002, 1001, 1000].map((t) => new Date(t).toISOString()));
    expect(third.nextCursor).toBeNull();
    expect((await audit.deliveries({ status: 'failed' }, 10)).items).toHaveLength(1);
    expect((await audit.deliveries({ audienceId: 10 }, 10)).items).toHaveLength(5);
    expect((await audit.deliveries({ from: 1003, to: 1004 }, 10)).items).toHaveLength(1);
    await expect(audit.deliveries({}, 2, 'bogus')).rejects.toThrow(RangeError);
    expect(await audit.prune(1002)).toMatchObject({ calls: 2 });
    expect((await audit.deliveries({}, 10)).items).toHaveLength(3);
  });
});
