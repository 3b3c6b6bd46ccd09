import { randomBytes, randomUUID } from 'node:crypto';
import { DataSource, QueryRunner } from 'typeorm';
import { ApiKeyCipher } from '../crypto/api-key-cipher';
import { Database } from '../database';
import { createMigratedDataSource, TestDatabase } from '../testing/test-database';
import { CallRecord, DeliveryRepository, MemberWrite, VerdictRecord } from './delivery.repository';
import { ErasureRepository } from './erasure.repository';
import { ListLease, ListLeasesRepository } from './list-leases.repository';

// A worker paused past its lease settles its late call (fenced out) while an erasure purges a subject the call named
// (model checker seed 5018). On PostgreSQL, under READ COMMITTED, the settlement could read "the list still knows
// them" just before the purge committed and write after it; the two take turns on the list's lease row. SQLite has
// one writer, so its transactions never interleave: this is PostgreSQL's alone.
describe('a late settlement and an erasure purge on PostgreSQL', () => {
  const ACCOUNT = 9;
  const LIST = 900;
  let dataSource: DataSource;
  let database: TestDatabase;
  let db: Database;
  let leases: ListLeasesRepository;
  let delivery: DeliveryRepository;
  let erasures: ErasureRepository;
  let other: QueryRunner;

  beforeAll(async () => {
    ({ dataSource, database } = await createMigratedDataSource('postgres'));
    db = new Database(dataSource);
    leases = new ListLeasesRepository(db);
    delivery = new DeliveryRepository(db, leases);
    erasures = new ErasureRepository(db, new ApiKeyCipher(randomBytes(32).toString('base64')));
  });
  afterAll(async () => {
    await dataSource.destroy();
    await database.drop();
  });
  beforeEach(async () => {
    for (const t of [
      'memberships',
      'audience_connections',
      'list_leases',
      'list_members',
      'delivery_calls',
      'delivery_verdicts',
      'sync_inbox',
      'erasure_requests',
    ]) {
      await dataSource.query(`DELETE FROM ${t}`);
    }
    await db.execute(`INSERT INTO audience_connections (account_id, audience_id, audience_name, list_id) VALUES (?, 1, 'a', ?)`, [ACCOUNT, LIST]);
    for (const who of ['stay', 'gone']) {
      await db.execute(
        `INSERT INTO memberships (account_id, audience_id, user_key, mpid, action, email, user_id, source_message_id, timestamp_ms) ` +
          `VALUES (?, 1, ?, ?, 'add', ?, ?, 'm', 1000)`,
        [ACCOUNT, who, who, `${who}@example.com`, `c-${who}`],
      );
      await db.execute(
        `INSERT INTO list_members (list_id, member_key, email, user_id, state, reason, recheck_at_ms, updated_at_ms) ` +
          `VALUES (?, ?, ?, ?, 'subscribed', NULL, NULL, 1)`,
        [LIST, `${who}@example.com`, `${who}@example.com`, `c-${who}`],
      );
    }
    other = dataSource.createQueryRunner();
    await other.connect();
  });
  afterEach(async () => {
    if (other.isTransactionActive) await other.rollbackTransaction();
    await other.release();
  });

  /** The paused delivery's lease, already taken over by another. */
  async function staleLease(): Promise<ListLease> {
    const stale = (await leases.acquire(LIST, 'paused', 1, 0)) as ListLease;
    await leases.acquire(LIST, 'holder', 60_000, 5);
    return stale;
  }
  const late = () => {
    const call: CallRecord = {
      id: randomUUID(),
      accountId: ACCOUNT,
      listId: LIST,
      action: 'unsubscribe',
      subscriberCount: 2,
      httpStatus: 200,
      successCount: 2,
      failureCount: 0,
      durationMs: 5,
      error: null,
      dryRun: false,
      createdAtMs: Date.now(),
    };
    const verdict = (who: string): VerdictRecord => ({
      accountId: ACCOUNT,
      audienceId: 1,
      userKey: who,
      mpid: who,
      action: 'delete',
      email: `${who}@example.com`,
      userId: `c-${who}`,
      outcome: 'failed',
      reason: 'forgotten',
      retryable: false,
      memberKey: `${who}@example.com`,
    });
    const member = (who: string): MemberWrite => ({
      memberKey: `${who}@example.com`,
      email: `${who}@example.com`,
      userId: `c-${who}`,
      state: 'unsubscribed',
      reason: null,
      recheckAtMs: null,
    });
    return { call, verdicts: [verdict('stay'), verdict('gone')], members: [member('stay'), member('gone')], doneInboxIds: [] };
  };
  const named = async (table: 'delivery_verdicts' | 'list_members') =>
    (await dataSource.query(`SELECT email FROM ${table} ORDER BY email`)).map((r: { email: string }) => r.email);
  const pending = async <T>(work: Promise<T>): Promise<{ settled: () => boolean; result: Promise<T> }> => {
    let settled = false;
    const result = work.finally(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 300));
    return { settled: () => settled, result };
  };

  it('the late settlement waits for a purge in progress, and then writes nothing of the purged subject', async () => {
    const stale = await staleLease();
    // The purge has locked the list's lease and removed the subject, not yet committed.
    await other.startTransaction();
    await other.query(`SELECT list_id FROM list_leases WHERE list_id = $1 FOR UPDATE`, [LIST]);
    await other.query(`DELETE FROM list_members WHERE member_key = 'gone@example.com'`);
    await other.query(`DELETE FROM memberships WHERE email = 'gone@example.com'`);
    const settling = await pending(delivery.settle(stale, 60_000, late(), ACCOUNT));
    expect(settling.settled()).toBe(false);
    await other.commitTransaction();
    expect(await settling.result).toBe(false);
    expect(await named('delivery_verdicts')).toEqual(['stay@example.com']);
    expect(await named('list_members')).toEqual(['stay@example.com']);
  });

  it('the purge waits for a late settlement in progress, and then removes what it wrote of the subject', async () => {
    await staleLease();
    const { id } = await erasures.accept(ACCOUNT, 'r-race', { email: 'gone@example.com' }, 'customerId', 5000);
    const request = (await erasures.due(10, Date.now() + 10_000)).find((e) => e.id === id);
    if (!request) throw new Error('the erasure is not pending');
    // The late settlement has share-locked the lease and read the subject as still known (before the purge).
    await other.startTransaction();
    await other.query(`SELECT list_id FROM list_leases WHERE list_id = $1 FOR SHARE`, [LIST]);
    const purging = await pending(erasures.complete(request.id, ACCOUNT, request.subject, 1));
    expect(purging.settled()).toBe(false);
    await other.query(
      `INSERT INTO delivery_verdicts
         (call_id, account_id, audience_id, list_id, user_key, mpid, action, email, user_id, outcome, reason, retryable, created_at_ms)
       VALUES ($1, $2, 1, $3, 'gone', 'gone', 'delete', 'gone@example.com', 'c-gone', 'failed', 'forgotten', false, $4)`,
      [randomUUID(), ACCOUNT, LIST, Date.now()],
    );
    await other.commitTransaction();
    await purging.result;
    expect(await named('delivery_verdicts')).toEqual([]);
    expect(await named('list_members')).toEqual(['stay@example.com']);
  });
});
