import { randomBytes, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { MembershipChange } from '@audience-bridge/domain';
import { ApiKeyCipher } from '../crypto/api-key-cipher';
import { Database } from '../database';
import { createMigratedDataSource, DRIVERS, TestDatabase } from '../testing/test-database';
import { DeliveryRepository } from './delivery.repository';
import { DRIFT_STALE_MS, DriftRepository } from './drift.repository';
import { ListLeasesRepository } from './list-leases.repository';
import { MembershipIngestRepository } from './membership-ingest.repository';

const emptyResult = {
  iterableMembers: 0,
  desiredMembers: 0,
  missing: 0,
  extra: 0,
  repaired: 0,
  leftOut: 0,
  refused: 0,
  missingSample: [],
  extraSample: [],
};

describe.each(DRIVERS)('drift persistence on %s', (driver) => {
  let dataSource: DataSource;
  let database: TestDatabase;
  let ingest: MembershipIngestRepository;
  let drift: DriftRepository;
  let delivery: DeliveryRepository;

  beforeAll(async () => {
    ({ dataSource, database } = await createMigratedDataSource(driver));
    const db = new Database(dataSource);
    ingest = new MembershipIngestRepository(db, new ApiKeyCipher(randomBytes(32).toString('base64')), 0);
    drift = new DriftRepository(db);
    delivery = new DeliveryRepository(db, new ListLeasesRepository(db));
  });
  afterAll(async () => {
    await dataSource.destroy();
    await database.drop();
  });
  beforeEach(async () => {
    for (const t of ['memberships', 'received_messages', 'audience_connections', 'accounts', 'sync_inbox', 'list_members', 'drift_reports', 'drift_settings']) {
      await dataSource.query(`DELETE FROM ${t}`);
    }
  });

  async function seed(users: string[], action: 'add' | 'delete' = 'add', audienceId = 10, listId = 100): Promise<void> {
    const id = randomUUID();
    const changes: MembershipChange[] = users.map((u) => ({
      accountId: 1,
      audienceId,
      listId,
      userKey: u,
      mpid: u,
      action,
      subscriber: { email: `${u}@example.com`, userId: `id-${u}` },
      sourceMessageId: id,
      timestampMs: 1000,
    }));
    await ingest.record({
      accountId: 1,
      messageId: id,
      timestampMs: 1000,
      settings: { apiKey: 'key-12345678', userIdField: 'customerId', dataCenter: 'US' },
      connections: [{ audienceId, audienceName: 'A', listId }],
      changes,
    });
  }

  it('keeps one running check per list: asking again answers the running one; a stale one is failed and replaced', async () => {
    const first = await drift.request({ accountId: 1, listId: 100, repair: false, trigger: 'api', identifier: 'email' }, 1000);
    expect(first.created).toBe(true);
    expect(first.report).toMatchObject({
      state: 'running',
      repair: false,
      trigger: 'api',
      identifier: 'email',
      phase: 'queued',
      requestedAtMs: 1000,
      missing: 0,
      missingSample: [],
    });
    const again = await drift.request({ accountId: 1, listId: 100, repair: true, trigger: 'api', identifier: 'email' }, 2000);
    expect(again).toEqual({ report: first.report, created: false });
    const unstarted = await drift.request({ accountId: 1, listId: 200, repair: true, trigger: 'schedule', identifier: 'userId' }, 2000);
    expect(unstarted.created).toBe(true);
    // Never taken for 5 s (its signal lost with Redis's data, say): signalled again. A signal repeated while its job
    // still waits is the same job (one job id per report), so the sweep need not wait long.
    expect(await drift.orphans(6_000)).toEqual([]);
    expect(await drift.orphans(8_000)).toEqual([first.report.id, unstarted.report.id]);

    // Taken by a worker that then stops: after DRIFT_STALE_MS the next request fails it and starts anew.
    expect(await drift.claim(first.report.id, 'w1', 3000)).toMatchObject({ phase: 'starting', startedAtMs: 3000 });
    expect(await drift.claim(first.report.id, 'w2', 3001)).toBeUndefined();
    const later = 3000 + DRIFT_STALE_MS + 1;
    expect(await drift.orphans(later)).toEqual([first.report.id, unstarted.report.id]);
    const replaced = await drift.request({ accountId: 1, listId: 100, repair: true, trigger: 'api', identifier: 'email' }, later);
    expect(replaced.created).toBe(true);
    expect(await drift.find(first.report.id)).toMatchObject({ state: 'failed', error: 'the worker running it stopped' });
    expect(await drift.heartbeat(first.report.id, 'w1')).toBe(false);
    expect((await drift.latest(1, 100))?.id).toBe(replaced.report.id);
  });

  it('records the verdict for its holder only, and lists the newest check per list', async () => {
    const { report } = await drift.request({ accountId: 1, listId: 100, repair: true, trigger: 'api', identifier: 'email' });
    await drift.claim(report.id, 'w1');
    expect(await drift.heartbeat(report.id, 'w1', 'reading')).toBe(true);
    await drift.markChecked(report.id, 'w1', 1234);
    const result = {
      iterableMembers: 10,
      desiredMembers: 9,
      missing: 2,
      extra: 3,
      repaired: 5,
      leftOut: 1,
      refused: 1,
      missingSample: ['a@x.io', 'b@x.io'],
      extraSample: ['c@x.io'],
    };
    expect(await drift.finish(report.id, 'w2', result)).toBe(false);
    expect(await drift.finish(report.id, 'w1', result)).toBe(true);
    expect(await drift.find(report.id)).toMatchObject({ ...result, state: 'done', phase: null, checkedAtMs: 1234, finishedAtMs: expect.any(Number) });
    const other = await drift.request({ accountId: 1, listId: 200, repair: false, trigger: 'api', identifier: 'email' });
    await drift.fail(other.report.id, null, 'Iterable answered 401');
    expect((await drift.latestPerList(1)).map((r) => [r.listId, r.state])).toEqual([
      [100, 'done'],
      [200, 'failed'],
    ]);
    expect((await drift.latestDone()).map((r) => r.id)).toEqual([report.id]);
    expect(await drift.runningCount()).toBe(0);
  });

  it('keeps settings per account (email, no schedule by default) and lets one worker claim a due schedule', async () => {
    expect(await drift.settings(7)).toEqual({
      accountId: 7,
      identifier: 'email',
      scheduleHours: null,
      scheduleRepair: false,
      repairExtras: 'ours',
      lastScheduledAtMs: null,
    });
    const put = await drift.putSettings(7, { scheduleHours: 24, identifier: 'userId' }, 10_000);
    expect(put).toEqual({ accountId: 7, identifier: 'userId', scheduleHours: 24, scheduleRepair: false, repairExtras: 'ours', lastScheduledAtMs: 10_000 });
    expect((await drift.putSettings(7, { repairExtras: 'all' })).repairExtras).toBe('all');
    expect((await drift.putSettings(7, { scheduleRepair: true })).repairExtras).toBe('all');
    expect(await drift.dueSchedules(10_000 + 3_600_000)).toEqual([]);
    const due = 10_000 + 24 * 3_600_000;
    expect((await drift.dueSchedules(due)).map((s) => s.accountId)).toEqual([7]);
    expect(await drift.claimSchedule(7, 10_000, due)).toBe(true);
    expect(await drift.claimSchedule(7, 10_000, due)).toBe(false);
    expect(await drift.dueSchedules(due)).toEqual([]);
    expect((await drift.putSettings(7, { scheduleHours: null })).scheduleHours).toBeNull();
  });

  it('reads desired adds and the members that matter page by page, and a repair goes through the inbox', async () => {
    await seed(['u1', 'u2', 'u3', 'u4', 'u5']);
    await seed(['u4'], 'delete');
    await seed(['u9'], 'add', 11, 300);
    expect(await drift.audiencesOf(100)).toEqual([{ accountId: 1, audienceId: 10 }]);
    expect(await drift.listsOf(1)).toEqual([100, 300]);
    expect(await drift.feeds(1, 300)).toBe(true);
    expect(await drift.feeds(1, 999)).toBe(false);
    const emails: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const page: { rows: { email: string; userId: string | null }[]; next: string | null } = await drift.desiredPage(1, 10, after, 2);
      emails.push(...page.rows.map((r) => r.email));
      after = page.next;
      pages++;
    } while (after !== null);
    expect(emails).toEqual(['u1@example.com', 'u2@example.com', 'u3@example.com', 'u5@example.com']);
    expect(pages).toBe(3);

    const now = Date.now();
    await dataSource.query(
      `INSERT INTO list_members (list_id, member_key, email, user_id, state, reason, recheck_at_ms, updated_at_ms) VALUES
        (100, 'a@x.io', 'a@x.io', NULL, 'subscribed', NULL, NULL, ${now - 600_000}),
        (100, 'b@x.io', 'b@x.io', 'id-b', 'subscribed', NULL, NULL, ${now}),
        (100, 'c@x.io', 'c@x.io', NULL, 'failed', 'forgotten', NULL, ${now - 600_000}),
        (100, 'd@x.io', 'd@x.io', NULL, 'unknown', NULL, ${now + 1000}, ${now - 600_000})`,
    );
    const known = await drift.knownPage(100, null, now - 300_000, 10);
    expect(known).toEqual({
      rows: [
        { memberKey: 'b@x.io', userId: 'id-b', refused: false, inFlight: true },
        { memberKey: 'c@x.io', userId: null, refused: true, inFlight: false },
        { memberKey: 'd@x.io', userId: null, refused: false, inFlight: true },
      ],
      next: null,
    });
    expect((await drift.knownPage(100, null, now - 300_000, 2)).next).toBe('b@x.io');

    const inbox = await drift.inboxPage(100, 0, 100);
    expect(inbox.length).toBeGreaterThan(0);
    await dataSource.query(`DELETE FROM sync_inbox`);
    await drift.queueRepair(
      100,
      [
        { memberKey: 'a@x.io', email: 'a@x.io', userId: null },
        { memberKey: 'stranger@x.io', email: 'stranger@x.io', userId: null },
      ],
      'drift repair',
    );
    expect((await drift.inboxPage(100, 0, 100)).map((r) => r.memberKey).sort()).toEqual(['a@x.io', 'stranger@x.io']);
    const marked = await delivery.known(100, ['a@x.io', 'stranger@x.io']);
    expect(marked.get('a@x.io')).toEqual({ email: 'a@x.io', userId: null, state: 'unknown', reason: 'drift repair' });
    expect(marked.get('stranger@x.io')).toEqual({ email: 'stranger@x.io', userId: null, state: 'unknown', reason: 'drift repair' });
  });

  it('a check records its repairExtras (ours unless asked), and knows which extras this service once subscribed, by member key or userId', async () => {
    const asked = await drift.request({ accountId: 1, listId: 100, repair: true, trigger: 'api', identifier: 'email' });
    expect(asked.report).toMatchObject({ repairExtras: 'ours', extraKept: 0 });
    const all = await drift.request({ accountId: 1, listId: 101, repair: true, trigger: 'api', identifier: 'email', repairExtras: 'all' });
    expect(all.report.repairExtras).toBe('all');
    expect(await drift.finish(all.report.id, 'nobody', { ...emptyResult, extraKept: 3 })).toBe(false);
    await drift.claim(asked.report.id, 'w1');
    expect(await drift.finish(asked.report.id, 'w1', { ...emptyResult, extra: 5, extraKept: 3 })).toBe(true);
    expect(await drift.find(asked.report.id)).toMatchObject({ state: 'done', extra: 5, extraKept: 3, repairExtras: 'ours' });

    const now = Date.now();
    await dataSource.query(
      `INSERT INTO list_members (list_id, member_key, email, user_id, state, reason, recheck_at_ms, updated_at_ms, ever_subscribed) VALUES
        (100, 'ours@x.io', 'ours@x.io', NULL, 'unsubscribed', NULL, NULL, ${now}, ${driver === 'postgres' ? 'true' : 1}),
        (100, 'by-id@x.io', 'by-id@x.io', 'cust-1', 'unsubscribed', NULL, NULL, ${now}, ${driver === 'postgres' ? 'true' : 1}),
        (100, 'only-removed@x.io', 'only-removed@x.io', NULL, 'unsubscribed', NULL, NULL, ${now}, ${driver === 'postgres' ? 'false' : 0}),
        (200, 'other-list@x.io', 'other-list@x.io', NULL, 'subscribed', NULL, NULL, ${now}, ${driver === 'postgres' ? 'true' : 1})`,
    );
    const member = (memberKey: string, userId: string | null = null) => ({ memberKey, email: memberKey.startsWith('userId:') ? '' : memberKey, userId });
    const ours = await drift.subscribedByUs(100, [
      member('ours@x.io'),
      member('userId:cust-1', 'cust-1'),
      member('only-removed@x.io'),
      member('other-list@x.io'),
      member('hand@x.io'),
    ]);
    expect(ours.map((m) => m.memberKey)).toEqual(['ours@x.io', 'userId:cust-1']);
    // A repair marks the member unknown and keeps what we know of it.
    await drift.queueRepair(100, [member('ours@x.io'), member('hand@x.io')], 'drift repair');
    expect((await drift.subscribedByUs(100, [member('ours@x.io'), member('hand@x.io')])).map((m) => m.memberKey)).toEqual(['ours@x.io']);
  });
});
