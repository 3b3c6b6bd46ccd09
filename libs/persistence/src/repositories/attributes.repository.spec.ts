import { randomBytes, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { ApiKeyCipher } from '../crypto/api-key-cipher';
import { Database } from '../database';
import { createMigratedDataSource, DRIVERS, TestDatabase } from '../testing/test-database';
import { AttributeChangeInput, AttributesRepository } from './attributes.repository';
import { MembershipIngestRepository, MembershipMessage } from './membership-ingest.repository';

const message = (id: string, timestampMs: number, attributes: Partial<AttributeChangeInput>[]): MembershipMessage => ({
  accountId: 1,
  messageId: id,
  timestampMs,
  settings: { apiKey: 'it-key-0123456789abcdef0123456789ab', userIdField: 'customerId', dataCenter: 'US' },
  connections: [],
  changes: [],
  attributes: attributes.map((a) => ({
    accountId: 1,
    userKey: 'u1',
    key: 'plan',
    valueJson: '"free"',
    skipReason: null,
    mpid: 'u1',
    email: 'u1@example.com',
    userId: 'c1',
    sourceMessageId: id,
    timestampMs,
    ...a,
  })),
});

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

describe.each(DRIVERS)('attributes storage on %s', (driver) => {
  let dataSource: DataSource;
  let database: TestDatabase;
  let ingest: MembershipIngestRepository;
  let repo: AttributesRepository;

  beforeAll(async () => {
    ({ dataSource, database } = await createMigratedDataSource(driver));
    const db = new Database(dataSource);
    ingest = new MembershipIngestRepository(db, new ApiKeyCipher(randomBytes(32).toString('base64')), 0);
    repo = new AttributesRepository(db);
  });
  afterAll(async () => {
    await dataSource.destroy();
    await database.drop();
  });
  beforeEach(async () => {
    for (const table of ['user_attributes', 'attribute_inbox', 'attribute_leases', 'received_messages', 'accounts', 'delivery_calls', 'delivery_verdicts'])
      await dataSource.query(`DELETE FROM ${table}`);
  });

  const stored = async () => (await repo.usersState(1, ['u1']))[0];

  const messages = [
    message('m-a', 1000, [
      { key: 'plan', valueJson: '"free"' },
      { key: 'ltv', valueJson: '1' },
    ]),
    message('m-b', 2000, [{ key: 'plan', valueJson: '"gold"' }]),
    message('m-c', 3000, [
      { key: 'ltv', valueJson: 'null' },
      { key: 'vip', valueJson: null, skipReason: 'attribute not a boolean' },
    ]),
    message('m-d', 2000, [{ key: 'plan', valueJson: '"silver"' }]),
  ];

  it.each(permutations(messages).map((order) => [order.map((m) => m.messageId).join(' → '), order] as const))(
    'ends at the newest value per attribute: %s',
    async (_, order) => {
      for (const m of order) await ingest.record(m);
      // plan: 2000 twice, the greater message id (m-d) wins; ltv: the 3000 delete; vip: skipped at 3000.
      expect(await stored()).toEqual({
        userKey: 'u1',
        mpid: 'u1',
        email: 'u1@example.com',
        userId: 'c1',
        fields: { ltv: null, plan: 'silver' },
        skipped: [{ key: 'vip', reason: 'attribute not a boolean' }],
      });
    },
  );

  it('appends one inbox row per user with an accepted change, none for an older or repeated one', async () => {
    await ingest.record(messages[2] as MembershipMessage);
    await ingest.record(messages[2] as MembershipMessage);
    await ingest.record(message('m-old', 10, [{ key: 'ltv', valueJson: '5' }]));
    expect(await repo.readInbox(1, 1000)).toMatchObject({ userKeys: ['u1'] });
    expect(Number((await dataSource.query(`SELECT COUNT(*) AS n FROM attribute_inbox`))[0].n)).toBe(1);
  });

  it('names no user an erasure purged while a worker that lost the account was paused: no verdict, no recheck', async () => {
    await ingest.record(message('m-1', 1000, [{}, { userKey: 'u2', mpid: 'u2', email: 'u2@example.com', userId: 'c2' }]));
    const now = Date.now();
    expect(await repo.claim(1, 'w1', now + 60_000, now)).toBe(true);
    const inbox = await repo.readInbox(1, 1000);
    // w1 pauses past its lease; w2 takes the account; an erasure removes u2's fields; w1's late call then settles.
    await dataSource.query(`UPDATE attribute_leases SET expires_at_ms = 0`);
    expect(await repo.claim(1, 'w2', Date.now() + 60_000)).toBe(true);
    await dataSource.query(`DELETE FROM user_attributes WHERE user_key = 'u2'`);
    const verdict = (key: string) => ({
      userKey: key,
      mpid: key,
      email: `${key}@example.com`,
      userId: key,
      outcome: 'delivered' as const,
      reason: null,
      retryable: false,
    });
    const call = {
      id: randomUUID(),
      accountId: 1,
      userCount: 2,
      httpStatus: 200,
      successCount: 2,
      failureCount: 0,
      durationMs: 9,
      error: null,
      dryRun: false,
      createdAtMs: now,
    };
    expect(await repo.settle(call, [verdict('u1'), verdict('u2')], inbox.ids, { holder: 'w1', untilMs: Date.now() + 60_000 })).toBe(false);
    const named = await dataSource.query(`SELECT user_key FROM delivery_verdicts ORDER BY user_key`);
    expect(named.map((r: { user_key: string }) => r.user_key)).toEqual(['u1']);
    const rechecks = await dataSource.query(`SELECT user_key FROM attribute_inbox WHERE id NOT IN (${inbox.ids.join(', ')})`);
    expect(rechecks.map((r: { user_key: string }) => r.user_key)).toEqual(['u1']);
  });

  it('leases an account to one worker, backs it off, and settles a call with its verdicts and inbox rows', async () => {
    await ingest.record(messages[0] as MembershipMessage);
    expect(await repo.dueAccounts()).toEqual([1]);
    const now = Date.now();
    expect(await repo.claim(1, 'w1', now + 60_000, now)).toBe(true);
    expect(await repo.claim(1, 'w2', now + 60_000, now)).toBe(false);
    await repo.release(1, 'w1', { nextAttemptAtMs: now + 5_000, error: 'rate limited' });
    expect(await repo.attempts(1)).toBe(1);
    expect(await repo.dueAccounts(now)).toEqual([]);
    expect(await repo.claim(1, 'w2', now + 60_000, now + 6_000)).toBe(true);

    const inbox = await repo.readInbox(1, 1000);
    const call = {
      id: randomUUID(),
      accountId: 1,
      userCount: 1,
      httpStatus: 200,
      successCount: 1,
      failureCount: 0,
      durationMs: 12,
      error: null,
      dryRun: false,
      createdAtMs: now,
    };
    const delivered = [{ userKey: 'u1', mpid: 'u1', email: 'u1@example.com', userId: 'c1', outcome: 'delivered' as const, reason: null, retryable: false }];
    // Fenced: a worker that no longer holds the account records its call, leaves the inbox rows, and adds one due
    // now per user (the holder may have used the rows already, and this call may have landed after its own).
    expect(await repo.renew(1, 'w1', now + 60_000)).toBe(false);
    expect(await repo.settle({ ...call, id: randomUUID() }, delivered, inbox.ids, { holder: 'w1', untilMs: now + 60_000 })).toBe(false);
    const afterLost = await repo.readInbox(1, 1000);
    expect(afterLost.ids.slice(0, inbox.ids.length)).toEqual(inbox.ids);
    expect(afterLost.ids).toHaveLength(inbox.ids.length + 1);
    expect(await repo.settle(call, delivered, inbox.ids, { holder: 'w2', untilMs: now + 60_000 })).toBe(true);
    await repo.release(1, 'w2');
    expect(await repo.attempts(1)).toBe(0);
    expect(await repo.readInbox(1, 1000)).toMatchObject({ ids: afterLost.ids.slice(inbox.ids.length), userKeys: ['u1'] });
    const rows = await dataSource.query(`SELECT action, list_id, subscriber_count FROM delivery_calls`);
    expect(
      rows.map((row: Record<string, unknown>) => ({ action: row['action'], listId: Number(row['list_id']), users: Number(row['subscriber_count']) })),
    ).toEqual([
      { action: 'bulkUpdate', listId: 0, users: 1 },
      { action: 'bulkUpdate', listId: 0, users: 1 },
    ]);
    expect(await dataSource.query(`SELECT action, outcome, email FROM delivery_verdicts`)).toEqual([
      { action: 'fields', outcome: 'delivered', email: 'u1@example.com' },
      { action: 'fields', outcome: 'delivered', email: 'u1@example.com' },
    ]);
  });
  it('keeps a recheck row out of reach until it is due, postpones it, and settles or drops it by id', async () => {
    const now = 1_000_000;
    const [early, late] = await repo.scheduleRecheck(1, ['u1', 'u2'], now + 5000, now);
    expect(await repo.dueAccounts(now)).toEqual([]);
    expect((await repo.readInbox(1, 10, now)).userKeys).toEqual([]);
    await repo.postponeRechecks([early as number], now + 9000);
    expect(await repo.dueAccounts(now + 5000)).toEqual([1]);
    expect((await repo.readInbox(1, 10, now + 5000)).userKeys).toEqual(['u2']);
    expect((await repo.readInbox(1, 10, now + 9000)).userKeys).toEqual(['u1', 'u2']);
    await repo.dropRechecks([late as number]);
    expect((await repo.readInbox(1, 10, now + 9000)).ids).toEqual([early]);
  });
});
