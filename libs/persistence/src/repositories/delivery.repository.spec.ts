import { randomBytes, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { MembershipChange } from '@audience-bridge/domain';
import { ApiKeyCipher } from '../crypto/api-key-cipher';
import { Database } from '../database';
import { createMigratedDataSource, DRIVERS, TestDatabase } from '../testing/test-database';
import { AuditRepository } from './audit.repository';
import { SENT_BY_USER_ID } from '../entities';
import { CallRecord, DeliveryRepository, MemberWrite, VerdictRecord } from './delivery.repository';
import { ListLease, ListLeasesRepository } from './list-leases.repository';
import { MembershipIngestRepository } from './membership-ingest.repository';
import { appendInbox } from './sync-inbox';

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
    leases = new ListLeasesRepository(db);
    delivery = new DeliveryRepository(db, leases);
    audit = new AuditRepository(db);
  });
  afterAll(async () => {
    await dataSource.destroy();
    await database.drop();
  });
  beforeEach(async () => {
    for (const t of [
      'memberships',
      'received_messages',
      'audience_connections',
      'accounts',
      'list_leases',
      'delivery_calls',
      'delivery_verdicts',
      'delivery_successes',
      'sync_inbox',
      'list_members',
    ]) {
      await dataSource.query(`DELETE FROM ${t}`);
    }
  });

  async function seed(users: string[], action: 'add' | 'delete' = 'add', timestampMs = 1000, id = randomUUID(), audienceId = 10, accountId = 1): Promise<void> {
    const changes: MembershipChange[] = users.map((u) => ({
      accountId,
      audienceId,
      listId: 100,
      userKey: u,
      mpid: u,
      action,
      subscriber: { email: `${u}@example.com` },
      sourceMessageId: id,
      timestampMs,
    }));
    await ingest.record({
      accountId,
      messageId: id,
      timestampMs,
      settings: { apiKey: 'key-12345678', userIdField: 'customerId', dataCenter: 'US' },
      connections: [{ audienceId, audienceName: 'A', listId: 100 }],
      changes,
    });
  }

  const call = (action: CallRecord['action'], n: number, overrides: Partial<CallRecord> = {}): CallRecord => ({
    id: randomUUID(),
    accountId: 1,
    listId: 100,
    action,
    subscriberCount: n,
    httpStatus: 200,
    successCount: n,
    failureCount: 0,
    durationMs: 12,
    error: null,
    dryRun: false,
    createdAtMs: Date.now(),
    ...overrides,
  });
  const member = (key: string, state: MemberWrite['state'], extra: Partial<MemberWrite> = {}): MemberWrite => ({
    memberKey: key,
    email: key,
    userId: null,
    state,
    reason: null,
    recheckAtMs: null,
    ...extra,
  });
  const members = async () =>
    (await dataSource.query(`SELECT member_key, state, reason, recheck_at_ms FROM list_members ORDER BY member_key, list_id DESC`)).map(
      (r: Record<string, unknown>) => [r['member_key'], r['state'], r['reason'], r['recheck_at_ms'] === null ? null : Number(r['recheck_at_ms'])],
    );

  it('leases a list to one holder at a time with a growing generation, fences stale holders, and releases', async () => {
    const a = (await leases.acquire(100, 'worker-a', 1000, 0)) as ListLease;
    expect(a).toMatchObject({ generation: 1, attempts: 0, nextAttemptAt: null });
    expect(await leases.acquire(100, 'worker-b', 1000, 500)).toBeUndefined();
    expect(await leases.fence(a, 1000, undefined, 700)).toBe(true);
    // a's lease lapses (paused past its expiry): b takes the list, and a's next fence check fails.
    const b = (await leases.acquire(100, 'worker-b', 1000, 1701)) as ListLease;
    expect(b.generation).toBe(2);
    expect(await leases.fence(a, 1000, undefined, 1702)).toBe(false);
    expect(await leases.fence(b, 1000, undefined, 1702)).toBe(true);
    await leases.release(a);
    expect(await leases.acquire(100, 'worker-c', 1000, 1800)).toBeUndefined();
    await leases.release(b);
    expect((await leases.acquire(100, 'worker-c', 1000, 1800))?.generation).toBe(3);
  });

  it('keeps a backoff per list that the sweep honours, and clears it on recovery', async () => {
    await seed(['u1']);
    const lease = (await leases.acquire(100, 'w', 10_000)) as ListLease;
    await leases.backOff(lease, Date.now() + 60_000, 'server error');
    expect(await delivery.dueLists()).toEqual([]);
    expect(await leases.failing()).toMatchObject({ lists: 1 });
    await leases.recovered(lease);
    expect(await delivery.dueLists()).toEqual([100]);
    expect(await leases.failing()).toEqual({ lists: 0, oldestSince: null });
  });

  it('finds every list with waiting rows (many rows each, ids interleaved) or a recheck due, and no other; hasDue per list', async () => {
    for (let round = 0; round < 3; round++)
      await appendInbox(
        new Database(dataSource),
        [7, 300, 5, 300, 42, 7].map((listId, i) => ({ listId, email: `r${round}-${i}@example.com` })),
      );
    await dataSource.query(
      `INSERT INTO list_members (list_id, member_key, email, user_id, state, reason, recheck_at_ms, updated_at_ms)
       VALUES (900, 'a@example.com', 'a@example.com', NULL, 'unknown', NULL, 1000, 1000),
              (901, 'b@example.com', 'b@example.com', NULL, 'unknown', NULL, ${Date.now() + 600_000}, 1000)`,
    );
    const lease = (await leases.acquire(42, 'w', 10_000)) as ListLease;
    await leases.backOff(lease, Date.now() + 60_000, 'server error');
    expect(await delivery.dueLists()).toEqual([5, 7, 300, 900]);
    for (const [listId, due] of [
      [5, true],
      [42, true],
      [300, true],
      [900, true],
      [901, false],
      [6, false],
    ] as const)
      expect(await delivery.hasDue(listId)).toBe(due);
    await dataSource.query(`DELETE FROM sync_inbox WHERE list_id IN (5, 300)`);
    expect(await delivery.dueLists()).toEqual([7, 900]);
  });

  it('reads contributions of every audience and account that maps to the list, removed ones included', async () => {
    await seed(['u1', 'u2']);
    await seed(['u1'], 'delete', 2000, randomUUID(), 11);
    await seed(['u1'], 'add', 3000, randomUUID(), 12, 2);
    await dataSource.query(`UPDATE audience_connections SET status = 'removed' WHERE account_id = 2`);
    const rows = await delivery.contributions(100, ['u1@example.com']);
    expect(rows.map((r) => [r.accountId, r.audienceId, r.action]).sort()).toEqual([
      [1, 10, 'add'],
      [1, 11, 'delete'],
      [2, 12, 'add'],
    ]);
    expect(await delivery.owner(100)).toEqual({ accountId: 1, listSuspended: false });
  });

  it('reads the inbox folded: every row of at most N members, across pages, stopping at the first row of one more', async () => {
    const keys = ['a', 'a', 'b', 'a', 'a', 'b', 'a', 'b', 'a', 'c', 'a', 'b', 'd'].map((k) => `${k}@example.com`);
    await appendInbox(
      new Database(dataSource),
      keys.map((email) => ({ listId: 100, email })),
    );
    // Two members: the first page (2 rows) holds one, so further pages are read until the first row of 'c'.
    expect((await delivery.inbox(100, 2)).map((e) => e.email?.[0])).toEqual(['a', 'a', 'b', 'a', 'a', 'b', 'a', 'b', 'a']);
    // At most maxRows rows, whatever the members.
    expect((await delivery.inbox(100, 2, { maxRows: 5 })).map((e) => e.email?.[0])).toEqual(['a', 'a', 'b', 'a', 'a']);
    // Distinct members fill the first page: one page, as before.
    expect((await delivery.inbox(100, 4)).map((e) => e.email?.[0])).toEqual(['a', 'a', 'b', 'a', 'a', 'b', 'a', 'b', 'a', 'c', 'a', 'b', 'd']);
    const all = await delivery.inbox(100, 10);
    // After an id: the rows past it only.
    expect((await delivery.inbox(100, 10, { after: all[9]?.id })).map((e) => e.email?.[0])).toEqual(['a', 'b', 'd']);
    const lease = (await leases.acquire(100, 'w', 10_000)) as ListLease;
    expect(await delivery.settle(lease, 10_000, { verdicts: [], members: [], doneInboxIds: all.map((e) => e.id) }, 1)).toBe(true);
    expect(await delivery.inbox(100, 10)).toEqual([]);
  });

  it('settles a call: members written in key order, exactly the inbox rows read deleted, a recheck kept', async () => {
    await seed(['u1', 'u2']);
    const read = await delivery.inbox(100, 10);
    expect(read.map((e) => e.email)).toEqual(['u1@example.com', 'u2@example.com']);
    await seed(['u1'], 'delete', 2000); // arrives while the call is out: must stay in the inbox
    const lease = (await leases.acquire(100, 'w', 10_000)) as ListLease;
    const ok = await delivery.settle(
      lease,
      10_000,
      {
        call: call('subscribe', 2),
        verdicts: [],
        members: [member('u2@example.com', 'unknown', { recheckAtMs: 5 }), member('u1@example.com', 'subscribed')],
        doneInboxIds: read.map((e) => e.id),
      },
      1,
    );
    expect(ok).toBe(true);
    expect((await delivery.inbox(100, 10)).map((e) => e.email)).toEqual(['u1@example.com']);
    await delivery.settle(lease, 10_000, { verdicts: [], members: [member('u2@example.com', 'subscribed')], doneInboxIds: [] }, 1);
    expect(await members()).toEqual([
      ['u1@example.com', 'subscribed', null, null],
      ['u2@example.com', 'subscribed', null, 5],
    ]);
    // The recheck is due: u2 is put back in the inbox as unknown.
    expect(await delivery.releaseRechecks(100, 10)).toBe(1);
    expect((await members())[1]).toEqual(['u2@example.com', 'unknown', null, null]);
    expect((await delivery.inbox(100, 10)).map((e) => e.email)).toEqual(['u1@example.com', 'u2@example.com']);
  });

  it("an unsubscribe of a userId puts the list's other members with that userId back in the inbox, as unknown", async () => {
    // Hybrid and userId-based projects name a user by its userId: the members u1-old and u1-new (one user whose
    // email changed) are one Iterable user, so taking u1-old off the list took u1-new off too.
    const other = (await leases.acquire(200, 'w', 10_000)) as ListLease;
    await delivery.settle(other, 10_000, { verdicts: [], members: [member('u1-new@example.com', 'subscribed', { userId: 'U1' })], doneInboxIds: [] }, 1);
    const lease = (await leases.acquire(100, 'w', 10_000)) as ListLease;
    await delivery.settle(
      lease,
      10_000,
      {
        verdicts: [],
        members: [
          member('u1-new@example.com', 'subscribed', { userId: 'U1' }),
          member('u2@example.com', 'subscribed', { userId: 'U2' }),
          member('u3@example.com', 'subscribed'),
        ],
        doneInboxIds: [],
      },
      1,
    );
    await delivery.settle(
      lease,
      10_000,
      {
        verdicts: [],
        members: [member('u1-old@example.com', 'unsubscribed', { userId: 'U1' }), member('u3-old@example.com', 'unsubscribed')],
        doneInboxIds: [],
      },
      1,
    );
    expect(await members()).toEqual([
      ['u1-new@example.com', 'subscribed', null, null], // list 200: another list's business
      ['u1-new@example.com', 'unknown', null, null],
      ['u1-old@example.com', 'unsubscribed', null, null],
      ['u2@example.com', 'subscribed', null, null],
      ['u3-old@example.com', 'unsubscribed', null, null],
      ['u3@example.com', 'subscribed', null, null],
    ]);
    expect((await delivery.inbox(100, 10)).map((e) => e.email)).toEqual(['u1-new@example.com']);
    expect(await delivery.inbox(200, 10)).toEqual([]);
  });

  // Model checker seed 2076 (SQLite, one run in eight): in a hybrid project u1 moved to a new email, Iterable refused
  // to re-address the user, so u1-new went on the list by its userId alone and the user kept u1-old. Then u1-old,
  // wanted by no audience, was unsubscribed by email alone (no userId known for it): that took the same user off.
  it("an unsubscribe by email alone puts back the list's members sent by userId after a conflict, as unknown", async () => {
    const lease = (await leases.acquire(100, 'w', 10_000)) as ListLease;
    const settle = (members: MemberWrite[]) => delivery.settle(lease, 10_000, { verdicts: [], members, doneInboxIds: [] }, 1);
    await settle([
      member('u1-new@example.com', 'subscribed', { userId: 'U1', reason: SENT_BY_USER_ID }),
      member('u2@example.com', 'subscribed', { userId: 'U2' }),
    ]);
    await settle([member('u1-old@example.com', 'unsubscribed')]);
    expect(await members()).toEqual([
      ['u1-new@example.com', 'unknown', SENT_BY_USER_ID, null],
      ['u1-old@example.com', 'unsubscribed', null, null],
      ['u2@example.com', 'subscribed', null, null],
    ]);
    expect((await delivery.inbox(100, 10)).map((e) => e.email)).toEqual(['u1-new@example.com']);
  });

  it('remembers the account of a call as it goes out: a list whose only call was never answered keeps a key after its audience moves away', async () => {
    await seed(['u1']);
    const dead = (await leases.acquire(100, 'dead', 1, 0)) as ListLease;
    // The call goes out with account 1's key; its holder dies before any answer is settled.
    expect(await leases.fence(dead, 1, undefined, 0, ['u1@example.com'], 1)).toBe(true);
    await dataSource.query(`UPDATE audience_connections SET list_id = 200`);
    // Whatever that call did must be undone with some key: the account whose key made it.
    expect(await delivery.owner(100)).toEqual({ accountId: 1, listSuspended: false });
  });

  it('hands the members of a call its holder died during to the next holder, as unknown and rechecked', async () => {
    await seed(['u1']);
    const dead = (await leases.acquire(100, 'dead', 1, 0)) as ListLease;
    await delivery.settle(
      dead,
      1,
      { verdicts: [], members: [member('u1@example.com', 'unsubscribed')], doneInboxIds: (await delivery.inbox(100, 10)).map((e) => e.id) },
      1,
    );
    expect(await leases.fence(dead, 1, undefined, 0, ['u1@example.com', 'new@example.com'])).toBe(true);
    const next = (await leases.acquire(100, 'next', 10_000)) as ListLease & { inFlight: string[] | null };
    expect(next.inFlight).toEqual(['u1@example.com', 'new@example.com']);
    await delivery.recoverInFlight(next, 10_000, next.inFlight ?? [], 777);
    expect(await members()).toEqual([
      ['new@example.com', 'unknown', null, 777],
      ['u1@example.com', 'unknown', null, 777],
    ]);
    expect((await delivery.inbox(100, 10)).map((e) => e.email).sort()).toEqual(['new@example.com', 'u1@example.com']);
    await leases.release(next);
    expect((await leases.acquire(100, 'third', 10_000))?.inFlight).toBeNull();
  });

  it('records the call of a delivery that lost the list, and has its members looked at again whatever the holder settles after it', async () => {
    await seed(['u1', 'u9']);
    const stale = (await leases.acquire(100, 'a', 1, 0)) as ListLease;
    const holder = (await leases.acquire(100, 'b', 10_000, 5)) as ListLease;
    const [entry] = await delivery.inbox(100, 10);
    // The stale delivery's call went out after b took the list: what it did may be the last word at Iterable.
    const before = Date.now();
    expect(
      await delivery.settle(
        stale,
        10_000,
        {
          call: call('unsubscribe', 2),
          verdicts: [],
          members: [member('u1@example.com', 'unsubscribed'), member('u9@example.com', 'unknown', { recheckAtMs: before + 60_000 })],
          doneInboxIds: [entry?.id ?? 0],
        },
        1,
      ),
    ).toBe(false);
    expect((await audit.deliveries({}, 10)).items).toHaveLength(1);
    // Both are unknown and back in the inbox now (the message's rows stay too); each is rechecked no earlier
    // than the call's own late window (u9's answer was never seen).
    const [u1, u9] = await members();
    expect([u1?.[0], u1?.[1], u9?.[0], u9?.[1], u9?.[3]]).toEqual(['u1@example.com', 'unknown', 'u9@example.com', 'unknown', before + 60_000]);
    expect(Number(u1?.[3])).toBeGreaterThanOrEqual(before);
    expect((await delivery.inbox(100, 10)).map((e) => e.email).sort()).toEqual(['u1@example.com', 'u1@example.com', 'u9@example.com', 'u9@example.com']);
    // The holder's settlement of an older call commits after it and says subscribed: the recheck stays, and sends u1's
    // newest state once more.
    const inbox = (await delivery.inbox(100, 10)).map((e) => e.id);
    expect(await delivery.settle(holder, 10_000, { verdicts: [], members: [member('u1@example.com', 'subscribed')], doneInboxIds: inbox }, 1)).toBe(true);
    expect(await delivery.releaseRechecks(100, Date.now())).toBe(1);
    expect((await members())[0]?.slice(0, 2)).toEqual(['u1@example.com', 'unknown']);
    expect((await delivery.inbox(100, 10)).map((e) => e.email)).toEqual(['u1@example.com']);
  });

  // Model checker seed 5018 PostgreSQL: a paused worker's late call named a subject an erasure had purged meanwhile,
  // and its settlement (verdicts, then the member looked at again) stored them once more.
  it('writes nothing back of a member an erasure purged while a delivery that lost the list was paused', async () => {
    await seed(['u1']);
    const stale = (await leases.acquire(100, 'a', 1, 0)) as ListLease;
    await leases.acquire(100, 'b', 10_000, 5);
    // gone@example.com was on the list; an erasure removed their memberships and list member row before the late call settled.
    const verdict = (key: string): VerdictRecord => ({
      accountId: 1,
      audienceId: 10,
      userKey: key,
      mpid: null,
      action: 'delete',
      email: key,
      userId: 'U-' + key,
      outcome: 'failed',
      reason: 'forgotten',
      retryable: false,
      memberKey: key,
    });
    const late = {
      call: call('unsubscribe', 2),
      verdicts: [verdict('gone@example.com'), verdict('u1@example.com')],
      members: [member('gone@example.com', 'failed'), member('u1@example.com', 'unsubscribed')],
      doneInboxIds: [],
    };
    expect(await delivery.settle(stale, 10_000, late, 1)).toBe(false);
    expect((await members()).map((m: unknown[]) => m[0])).toEqual(['u1@example.com']);
    expect((await delivery.inbox(100, 10)).map((e) => e.email)).toEqual(['u1@example.com', 'u1@example.com']);
    const named = await dataSource.query(`SELECT email FROM delivery_verdicts ORDER BY email`);
    expect(named.map((r: { email: string }) => r.email)).toEqual(['u1@example.com']);
    expect(Number((await dataSource.query(`SELECT subscriber_count AS n FROM delivery_calls`))[0].n)).toBe(2);
  });

  it("a late unsubscribe by userId, fenced out, also puts back the list's other members with that userId", async () => {
    await seed(['u1-old', 'u1-new']);
    const holder = (await leases.acquire(100, 'b', 10_000, 5)) as ListLease;
    await delivery.settle(holder, 10_000, { verdicts: [], members: [member('u1-new@example.com', 'subscribed', { userId: 'U1' })], doneInboxIds: [] }, 1);
    await dataSource.query(`UPDATE list_leases SET expires_at = 0`);
    const stale = (await leases.acquire(100, 'a', 1, 10)) as ListLease;
    await leases.acquire(100, 'c', 10_000, 20);
    const late = { call: call('unsubscribe', 1), verdicts: [], members: [member('u1-old@example.com', 'unsubscribed', { userId: 'U1' })], doneInboxIds: [] };
    expect(await delivery.settle(stale, 10_000, late, 1)).toBe(false);
    // In a hybrid project that call took the user off under every email: u1-new is looked at again too.
    expect((await members()).map((m: unknown[]) => m.slice(0, 2))).toEqual([
      ['u1-new@example.com', 'unknown'],
      ['u1-old@example.com', 'unknown'],
    ]);
  });

  it('keeps a later recheck already planned when a delivery that lost the list looks at its members again', async () => {
    await seed(['u1']);
    const stale = (await leases.acquire(100, 'a', 1, 0)) as ListLease;
    const holder = (await leases.acquire(100, 'b', 10_000, 5)) as ListLease;
    // The holder found the stale call in flight and waits the late-apply window before looking again.
    await delivery.recoverInFlight(holder, 10_000, ['u1@example.com'], Date.now() + 60_000);
    const planned = (await members())[0]?.[3];
    const late = { call: call('unsubscribe', 1), verdicts: [], members: [member('u1@example.com', 'unsubscribed')], doneInboxIds: [] };
    expect(await delivery.settle(stale, 10_000, late, 1)).toBe(false);
    expect((await members())[0]).toEqual(['u1@example.com', 'unknown', null, planned]);
  });

  it('writes no member state for a settlement without a call when the list was taken over meanwhile', async () => {
    await seed(['u1']);
    const stale = (await leases.acquire(100, 'a', 1, 0)) as ListLease;
    await leases.acquire(100, 'b', 10_000, 5);
    const [entry] = await delivery.inbox(100, 10);
    expect(await delivery.settle(stale, 10_000, { verdicts: [], members: [member('u1@example.com', 'subscribed')], doneInboxIds: [entry?.id ?? 0] }, 1)).toBe(
      false,
    );
    expect(await members()).toEqual([]);
    expect(await delivery.inbox(100, 10)).toHaveLength(1);
  });

  it('expands a whole-list row into one row per member the list has or its audiences name', async () => {
    await seed(['u1', 'u2']);
    const lease = (await leases.acquire(100, 'w', 10_000)) as ListLease;
    await delivery.settle(
      lease,
      10_000,
      {
        verdicts: [],
        members: [member('old@example.com', 'subscribed'), member('gone@example.com', 'unsubscribed')],
        doneInboxIds: (await delivery.inbox(100, 10)).map((e) => e.id),
      },
      1,
    );
    await dataSource.query(`INSERT INTO sync_inbox (list_id, member_key, created_at_ms) VALUES (100, NULL, 42)`);
    const markers = await delivery.inbox(100, 10);
    await delivery.expandWholeList(100, markers);
    const expanded = await delivery.inbox(100, 10);
    expect(expanded.map((e) => e.email).sort()).toEqual(['old@example.com', 'u1@example.com', 'u2@example.com']);
    expect(new Set(expanded.map((e) => e.createdAtMs))).toEqual(new Set([42]));
  });

  it('replays failed members by reason and scope', async () => {
    await seed(['u1', 'u2']);
    const lease = (await leases.acquire(100, 'w', 10_000)) as ListLease;
    const read = await delivery.inbox(100, 10);
    await delivery.settle(
      lease,
      10_000,
      {
        verdicts: [],
        members: [member('u1@example.com', 'failed', { reason: 'forgotten' }), member('u2@example.com', 'failed', { reason: 'invalid email' })],
        doneInboxIds: read.map((e) => e.id),
      },
      1,
    );
    expect(await audit.replay({ reason: 'invalid email' })).toEqual({ requeued: 1, lists: [100] });
    expect((await delivery.inbox(100, 10)).map((e) => e.email)).toEqual(['u2@example.com']);
    expect((await audit.replay({ accountId: 2 })).requeued).toBe(0);
    expect((await audit.replay({ accountId: 1, reason: 'forgotten' })).requeued).toBe(1);
  });

  it('prunes remembered message ids by the database clock', async () => {
    const twoDaysAgo = driver === 'postgres' ? `CURRENT_TIMESTAMP - INTERVAL '2 days'` : `datetime('now', '-2 days')`;
    await dataSource.query(
      `INSERT INTO received_messages (account_id, message_id, change_count, duplicate_count, received_at) VALUES (1, 'old', 1, 0, ${twoDaysAgo})`,
    );
    await dataSource.query(
      `INSERT INTO received_messages (account_id, message_id, change_count, duplicate_count, received_at) VALUES (1, 'new', 1, 0, CURRENT_TIMESTAMP)`,
    );
    expect((await audit.prune(Date.now() - 24 * 3600 * 1000)).messages).toBe(1);
    expect((await dataSource.query(`SELECT message_id FROM received_messages`)).map((r: { message_id: string }) => r.message_id)).toEqual(['new']);
  });

  it('pages deliveries newest first with a cursor, filters them, and prunes old ones', async () => {
    await seed(['u1']);
    const lease = (await leases.acquire(100, 'w', 10_000)) as ListLease;
    for (let i = 0; i < 5; i++)
      await delivery.settle(
        lease,
        10_000,
        { call: call('subscribe', 1, { createdAtMs: 1000 + i, ...(i === 4 ? { httpStatus: 500 } : {}) }), verdicts: [], members: [], doneInboxIds: [] },
        1,
      );
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
