import { Test } from '@nestjs/testing';
import { randomBytes, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { Environment, validateEnvironment } from '@audience-bridge/config';
import { hugeErrorPage, RunningFakeIterable, startFakeIterable } from '@audience-bridge/fake-iterable';
import { LimiterWaitTimeoutError } from '@audience-bridge/iterable-client';
import {
  AccountsRepository,
  ApiKeyCipher,
  AudienceConnectionsRepository,
  Database,
  DRIVERS,
  DeliveryRepository,
  ListLeasesRepository,
  MembershipIngestRepository,
  MembershipsRepository,
} from '@audience-bridge/persistence';
import { createMigratedDataSource, TestDatabase } from '@audience-bridge/persistence/testing';
import { ListSyncProducer } from '@audience-bridge/queue';
import { acceptChanges, Target } from '../testing/accept-changes';
import { clientOnFake } from '../testing/client-on-fake';
import { WorkerMetrics } from '../metrics/worker-metrics.service';
import { IterableClientsService } from './iterable-clients.service';
import { ListDeliveryService } from './list-delivery.service';

/** Where a test's changes go: an mParticle account, its Iterable key, and the list its audience feeds. */
// The delivery service on its own (Nest testing module, SQLite and PostgreSQL, the in-process fake Iterable): the
// failure paths a whole-stack test cannot aim at.
describe.each(DRIVERS)('ListDeliveryService on %s', (driver) => {
  let fake: RunningFakeIterable;
  let dataSource: DataSource;
  let database: TestDatabase;
  let service: ListDeliveryService;
  let ingest: MembershipIngestRepository;
  let leases: ListLeasesRepository;
  let apiKey: string;
  let listId: number;
  /** What the next client's limiter does: undefined lets every call through. */
  let limiterFails: Error | undefined;
  /** Runs while the client waits for the rate limiter (before it grants). */
  let whileWaiting: (() => Promise<void>) | undefined;
  let accountId: number;
  let accounts = 1;

  beforeAll(async () => {
    fake = await startFakeIterable();
    ({ dataSource, database } = await createMigratedDataSource(driver));
    const db = new Database(dataSource);
    const cipher = new ApiKeyCipher(randomBytes(32).toString('base64'));
    ingest = new MembershipIngestRepository(db, cipher, 0);
    leases = new ListLeasesRepository(db);
    const env: Environment = validateEnvironment({ NODE_ENV: 'test', DELIVERY_RETRY_BASE_MS: '100', LIST_LEASE_TTL_MS: '5000', ITERABLE_TIMEOUT_MS: '1000' });
    const clients = {
      clientFor: (account: { iterableApiKey: string }) =>
        clientOnFake(fake.url, account.iterableApiKey, async () => {
          if (whileWaiting) await whileWaiting();
          if (limiterFails) throw limiterFails;
        }),
    };
    const moduleRef = await Test.createTestingModule({
      providers: [
        ListDeliveryService,
        { provide: Environment, useValue: env },
        { provide: ListLeasesRepository, useValue: leases },
        { provide: DeliveryRepository, useValue: new DeliveryRepository(db, leases) },
        { provide: AccountsRepository, useValue: new AccountsRepository(db, cipher) },
        { provide: AudienceConnectionsRepository, useValue: new AudienceConnectionsRepository(db) },
        { provide: IterableClientsService, useValue: clients },
        { provide: WorkerMetrics, useValue: new WorkerMetrics(new MembershipsRepository(db), { depth: async () => 0 } as unknown as ListSyncProducer, db) },
      ],
    }).compile();
    service = moduleRef.get(ListDeliveryService);
  });
  afterAll(async () => {
    await dataSource.destroy();
    await database.drop();
    await fake.close();
  });
  /** A new mParticle account with its own Iterable project (hybrid, its own key) and one list there. */
  function newTarget(): Target {
    const target = { accountId: ++accounts, apiKey: `it-key-${randomUUID()}` };
    return {
      ...target,
      listId: fake.state.createList(fake.state.createProject({ apiKey: target.apiKey, type: 'hybrid', dataCenter: 'US' }), `l${target.accountId}`).id,
    };
  }

  beforeEach(async () => {
    limiterFails = undefined;
    whileWaiting = undefined;
    fake.state.setFaults({});
    fake.state.setConfig({ newListInvalidForMs: 0 });
    ({ accountId, apiKey, listId } = newTarget());
  });

  async function accept(
    users: (string | { email: string; userId: string })[],
    action: 'add' | 'delete' = 'add',
    timestampMs = 1000,
    target: Target = { accountId, apiKey, listId },
  ): Promise<void> {
    await acceptChanges(ingest, target, users, action, timestampMs);
  }

  const members = () => (fake.state.members(listId) ?? []).map((m) => m.email).sort();
  const inbox = async () => Number((await dataSource.query(`SELECT COUNT(*) AS n FROM sync_inbox WHERE list_id = ${listId}`))[0].n);
  /** The members of the list's call in flight, as its lease says (null: none). */
  const inFlight = async (): Promise<string[] | null> => {
    const [row] = await dataSource.query(`SELECT in_flight FROM list_leases WHERE list_id = ${listId}`);
    return row?.in_flight ? JSON.parse(row.in_flight) : null;
  };
  const sent = (path: string) => fake.state.requests.filter((r) => r.apiKey === apiKey && r.apiPath === path);

  it('sends removals before additions and brings the list to the newest state', async () => {
    await accept(['a@example.com', 'b@example.com']);
    expect(await service.syncList(listId)).toEqual({ kind: 'done' });
    await accept(['a@example.com'], 'delete', 2000);
    await accept(['c@example.com'], 'add', 2000);
    expect(await service.syncList(listId)).toEqual({ kind: 'done' });
    expect(members()).toEqual(['b@example.com', 'c@example.com']);
    const order = fake.state.requests.filter((r) => r.apiKey === apiKey).map((r) => r.apiPath);
    expect(order).toEqual(['/api/lists/subscribe', '/api/lists/unsubscribe', '/api/lists/subscribe']);
    expect(await inbox()).toBe(0);
  });

  it('splits a batch Iterable answers 413 in halves, and delivers every member', async () => {
    await accept(['a@example.com', 'b@example.com', 'c@example.com']);
    fake.state.setFaults({ forced: [{ times: 1, path: '/api/lists/subscribe', status: 413 }] });
    expect(await service.syncList(listId)).toEqual({ kind: 'done' });
    const sizes = sent('/api/lists/subscribe').map(
      (r) => (JSON.parse(typeof r.body === 'string' ? r.body : JSON.stringify(r.body)) as { subscribers: unknown[] }).subscribers.length,
    );
    expect(sizes).toEqual([3, 2, 1]);
    expect(members()).toEqual(['a@example.com', 'b@example.com', 'c@example.com']);
  });

  // An identity of 4 MB cannot be written into PostgreSQL's columns at all, so this branch exists (and is
  // tested) only where the database lets such a member through: SQLite. Declared there only, never skipped.
  const onSqlite = driver === 'sqlite' ? it : undefined;
  onSqlite?.('records a member too large for any call as failed, and sends the rest', async () => {
    await accept(['huge@example.com', 'fine@example.com']);
    // An identity of 4 MB, written straight into the desired state (the API refuses such values; SQLite does not).
    await dataSource.query(`UPDATE memberships SET user_id = '${'u'.repeat(4_000_000)}' WHERE email = 'huge@example.com'`);
    expect(await service.syncList(listId)).toEqual({ kind: 'done' });
    const [row] = await dataSource.query(`SELECT state, reason FROM list_members WHERE member_key = 'huge@example.com'`);
    expect(row).toMatchObject({ state: 'failed', reason: 'too large' });
    expect(members()).toEqual(['fine@example.com']);
    expect(await inbox()).toBe(0);
  });

  it('sends nothing once another delivery has taken the list (fenced before the call)', async () => {
    await accept(['a@example.com']);
    // Another worker takes the list while this one is between its read and its call.
    const original = leases.fence.bind(leases);
    let calls = 0;
    leases.fence = async (lease, ttl, manager, now) => {
      calls++;
      if (calls === 1) await dataSource.query(`UPDATE list_leases SET holder = 'other', generation = generation + 1 WHERE list_id = ${listId}`);
      return original(lease, ttl, manager, now);
    };
    try {
      expect(await service.syncList(listId)).toEqual({ kind: 'busy' });
    } finally {
      leases.fence = original;
    }
    expect(sent('/api/lists/subscribe')).toHaveLength(0);
    expect(await inbox()).toBe(1);
  });

  // Found by the model checker (regression seed 2, SQLite, a worker SIGSTOPped past its lease): a process paused
  // after its last fence check and before its call sends that call late, after another delivery took the list and
  // sent the newer state. Iterable applies whatever arrives last, so the late call is repaired from our side.
  it('sends the newest state again when its call went out after another delivery took the list', async () => {
    await accept(['a@example.com'], 'delete', 1000);
    whileWaiting = async () => {
      whileWaiting = undefined;
      // This delivery stalls here past its lease; the user is added again, and another delivery takes the list and subscribes them.
      await accept(['a@example.com'], 'add', 2000);
      await dataSource.query(`UPDATE list_leases SET expires_at = 0 WHERE list_id = ${listId}`);
      expect(await service.syncList(listId)).toEqual({ kind: 'done' });
      expect(members()).toEqual(['a@example.com']);
    };
    // The stalled delivery's unsubscribe (planned for the older delete) goes out and lands: the user is off the list.
    expect(await service.syncList(listId)).toEqual({ kind: 'busy' });
    expect(sent('/api/lists/unsubscribe')).toHaveLength(1);
    expect(members()).toEqual([]);
    // Its settlement, fenced out, leaves the member to be looked at again (the takeover's own recheck of the call it
    // found in flight waits for the late-apply window, which a pause can outlast): the newest state (add) goes once more.
    expect(await dataSource.query(`SELECT state FROM list_members WHERE list_id = ${listId}`)).toEqual([{ state: 'unknown' }]);
    expect(await inbox()).toBe(1);
    expect(await service.syncList(listId)).toEqual({ kind: 'done' });
    expect(members()).toEqual(['a@example.com']);
    expect(sent('/api/lists/subscribe')).toHaveLength(2);
  });

  it('gives the list back for a retry when the shared limiter has no slot in time, with nothing sent', async () => {
    await accept(['a@example.com']);
    limiterFails = new LimiterWaitTimeoutError(1700);
    expect(await service.syncList(listId)).toEqual({ kind: 'retry', inMs: 1000 });
    expect(sent('/api/lists/subscribe')).toHaveLength(0);
    expect(await inbox()).toBe(1);
    // Nothing is left in flight (a call never sent has no unknown outcome): the next run sends it at once.
    expect(await inFlight()).toBeNull();
    limiterFails = undefined;
    expect(await service.syncList(listId)).toEqual({ kind: 'done' });
    expect(members()).toEqual(['a@example.com']);
  });

  // The fence commits before the wait for the rate limiter, not between its grant and the call: a call that left
  // late by a slow commit arrived close to the next one, and Iterable (the fake, counting arrivals) answered 429.
  it("writes the call's members down, fenced, before waiting for the rate limiter", async () => {
    await accept(['a@example.com']);
    let atWait: string[] | null = null;
    whileWaiting = async () => {
      atWait = await inFlight();
    };
    expect(await service.syncList(listId)).toEqual({ kind: 'done' });
    expect(atWait).toEqual(['a@example.com']);
    expect(await inFlight()).toBeNull();
  });

  it('fences again after a wait for the rate limiter longer than a third of the lease, and sends nothing if the list was taken', async () => {
    await accept(['a@example.com']);
    whileWaiting = async () => {
      await new Promise((resolve) => setTimeout(resolve, 5000 / 3 + 100));
      await dataSource.query(`UPDATE list_leases SET holder = 'other', generation = generation + 1 WHERE list_id = ${listId}`);
    };
    expect(await service.syncList(listId)).toEqual({ kind: 'busy' });
    expect(sent('/api/lists/subscribe')).toHaveLength(0);
    expect(await inbox()).toBe(1);
  });

  it('backs the list off on a transient failure and keeps every change waiting', async () => {
    await accept(['a@example.com']);
    // A Retry-After of half a second: long enough that the next signal surely comes before it is over (PostgreSQL too).
    fake.state.setFaults({ forced: [{ times: 1, path: '/api/lists/subscribe', status: 503, retryAfterSeconds: 0.5 }] });
    const result = await service.syncList(listId);
    expect(result).toEqual({ kind: 'retry', inMs: 500 });
    expect(await inbox()).toBe(1);
    // A signal before the backoff is over does nothing but say how long is left.
    expect((await service.syncList(listId)).kind).toBe('retry');
    await new Promise((resolve) => setTimeout(resolve, 550));
    expect(await service.syncList(listId)).toEqual({ kind: 'done' });
    expect(members()).toEqual(['a@example.com']);
  });

  /** The list's backoff is over (as if its time had passed): the next signal sends. */
  const backoffOver = (list = listId) => dataSource.query(`UPDATE list_leases SET next_attempt_at = NULL WHERE list_id = ${list}`);
  const calls = async (list = listId) =>
    (await dataSource.query(`SELECT http_status, error, subscriber_count FROM delivery_calls WHERE list_id = ${list} ORDER BY created_at_ms, id`)) as {
      http_status: number | null;
      error: string | null;
      subscriber_count: number;
    }[];
  const listMember = async (email: string) =>
    (await dataSource.query(`SELECT state, reason FROM list_members WHERE list_id = ${listId} AND member_key = '${email}'`))[0];
  const connection = async (target: Target) =>
    (await dataSource.query(`SELECT status, suspended_reason FROM audience_connections WHERE account_id = ${target.accountId} AND audience_id = 1`))[0];
  /** The subscribers of each call sent to `path`, in order (a forced answer logs the body as text, a served one as JSON). */
  const sentSubscribers = (path = '/api/lists/subscribe') =>
    sent(path).map((r) => ((typeof r.body === 'string' ? JSON.parse(r.body) : r.body) as { subscribers: Record<string, unknown>[] }).subscribers);

  it("keeps delivering another key's list promptly while one project answers every call with a ~1 MB HTML 500 page", async () => {
    const broken = { accountId, apiKey, listId };
    const healthy = newTarget();
    await accept(['a@example.com'], 'add', 1000, broken);
    fake.state.setFaults({
      forced: [{ apiKey: broken.apiKey, status: 500, contentType: 'text/html; charset=utf-8', body: hugeErrorPage(1_000_000), times: 10_000 }],
    });
    // The broken project's list is retried over and over (its backoff skipped) while the healthy list delivers.
    let stop = false;
    const hammering = (async () => {
      const results: string[] = [];
      while (!stop) {
        results.push((await service.syncList(broken.listId)).kind);
        await backoffOver(broken.listId);
      }
      return results;
    })();
    const rounds: number[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        await accept([`h${i}@example.com`], 'add', 1000 + i, healthy);
        const started = performance.now();
        expect(await service.syncList(healthy.listId)).toEqual({ kind: 'done' });
        rounds.push(performance.now() - started);
      }
    } finally {
      stop = true;
    }
    const results = await hammering;
    expect(results.length).toBeGreaterThan(0);
    expect(new Set(results)).toEqual(new Set(['retry']));
    expect(Math.max(...rounds)).toBeLessThan(1000);
    expect((fake.state.members(healthy.listId) ?? []).map((m) => m.email).sort()).toEqual([
      'h0@example.com',
      'h1@example.com',
      'h2@example.com',
      'h3@example.com',
    ]);
    // The broken list's calls are recorded as transient server errors; its change waits.
    expect((await calls(broken.listId))[0]).toMatchObject({ http_status: 500, error: 'server error' });
    expect(await inbox()).toBe(1);
  }, 20_000);

  it("waits at most 15 minutes on a Retry-After, and the call's audit row says it was capped", async () => {
    await accept(['a@example.com']);
    fake.state.setFaults({ forced: [{ path: '/api/lists/subscribe', status: 429, retryAfterSeconds: 7200 }] });
    const before = Date.now();
    expect(await service.syncList(listId)).toEqual({ kind: 'retry', inMs: 900_000 });
    expect(await calls()).toEqual([expect.objectContaining({ http_status: 429, error: 'rate limited (Retry-After 7200 s capped to 900 s)' })]);
    const [lease] = await dataSource.query(`SELECT next_attempt_at FROM list_leases WHERE list_id = ${listId}`);
    expect(Number(lease.next_attempt_at) - before).toBeGreaterThanOrEqual(900_000);
    expect(Number(lease.next_attempt_at) - before).toBeLessThan(901_000);
    expect(await inbox()).toBe(1);
  });

  it('retries a list that answers invalidListId for a while after its creation, and delivers once Iterable knows it', async () => {
    await accept(['a@example.com']);
    fake.state.setConfig({ newListInvalidForMs: 3_600_000 });
    for (const attempt of [1, 2]) {
      const result = await service.syncList(listId);
      // Backoff scaled for an unknown list: base 100 ms × 20, doubled each try, half of it jittered.
      expect(result).toEqual({ kind: 'retry', inMs: expect.any(Number) });
      expect((result as { inMs: number }).inMs).toBeGreaterThanOrEqual(1000 * attempt);
      expect((result as { inMs: number }).inMs).toBeLessThanOrEqual(2000 * attempt);
      expect(await connection({ accountId, apiKey, listId })).toMatchObject({ status: 'active' });
      await backoffOver();
    }
    fake.state.setConfig({ newListInvalidForMs: 0 });
    expect(await service.syncList(listId)).toEqual({ kind: 'done' });
    expect(members()).toEqual(['a@example.com']);
    expect((await calls()).map((c) => c.error)).toEqual(['unknown list', 'unknown list', null]);
    expect(await connection({ accountId, apiKey, listId })).toMatchObject({ status: 'active' });
    const [lease] = await dataSource.query(`SELECT attempts, failing_since FROM list_leases WHERE list_id = ${listId}`);
    expect([Number(lease.attempts), lease.failing_since]).toEqual([0, null]);
  });

  it('suspends a list that stays unknown on the third invalidListId in a row, and gives it three tries again after a resume', async () => {
    const missing = { accountId, apiKey, listId: 990_000 + accountId };
    await accept(['a@example.com'], 'add', 1000, missing);
    expect((await service.syncList(missing.listId)).kind).toBe('retry');
    await backoffOver(missing.listId);
    expect((await service.syncList(missing.listId)).kind).toBe('retry');
    await backoffOver(missing.listId);
    expect(await service.syncList(missing.listId)).toEqual({ kind: 'suspended' });
    expect(await connection(missing)).toMatchObject({ status: 'suspended', suspended_reason: expect.stringContaining('unknown list') });
    expect(sent('/api/lists/subscribe')).toHaveLength(3);
    expect(Number((await dataSource.query(`SELECT COUNT(*) AS n FROM sync_inbox WHERE list_id = ${missing.listId}`))[0].n)).toBe(1);
    // The operator resumes (the list still missing): a fresh first try, not an immediate suspension.
    await dataSource.query(`UPDATE audience_connections SET status = 'active', suspended_reason = NULL WHERE account_id = ${accountId}`);
    expect((await service.syncList(missing.listId)).kind).toBe('retry');
  });

  it('fails for good only the users an unknown array of failedUpdates names; the rest are delivered and the batch is not sent again', async () => {
    await accept(['a@example.com', 'b@example.com', 'c@example.com']);
    fake.state.setFaults({
      forced: [
        {
          path: '/api/lists/subscribe',
          status: 200,
          body: { successCount: 2, failCount: 1, failedUpdates: { invalidEmails: [], suppressedEmails: ['b@example.com'] } },
        },
      ],
    });
    expect(await service.syncList(listId)).toEqual({ kind: 'done' });
    expect(sent('/api/lists/subscribe')).toHaveLength(1);
    expect(await listMember('a@example.com')).toMatchObject({ state: 'subscribed' });
    expect(await listMember('b@example.com')).toMatchObject({ state: 'failed', reason: 'failedUpdates.suppressedEmails' });
    const verdicts = await dataSource.query(`SELECT email, outcome, reason FROM delivery_verdicts WHERE list_id = ${listId} ORDER BY email`);
    expect(verdicts.map((v: { email: string; outcome: string; reason: string | null }) => [v.email, v.outcome, v.reason])).toEqual([
      ['b@example.com', 'failed', 'failedUpdates.suppressedEmails'],
    ]);
    // The two delivered users are in the compact form: one row, their keys.
    const successes = await dataSource.query(`SELECT n, user_keys FROM delivery_successes WHERE list_id = ${listId}`);
    expect(successes.map((r: { n: number | string; user_keys: string }) => [Number(r.n), JSON.parse(r.user_keys).length])).toEqual([[2, 2]]);
    expect(await inbox()).toBe(0);
  });

  it('cuts the name of an unknown array to what the audit columns hold', async () => {
    await accept(['a@example.com']);
    const name = 'aVeryLongCategoryNameIterableMightAddEmails';
    fake.state.setFaults({
      forced: [{ path: '/api/lists/subscribe', status: 200, body: { successCount: 0, failCount: 1, failedUpdates: { [name]: ['a@example.com'] } } }],
    });
    expect(await service.syncList(listId)).toEqual({ kind: 'done' });
    const [verdict] = await dataSource.query(`SELECT reason FROM delivery_verdicts WHERE list_id = ${listId}`);
    expect(verdict.reason).toHaveLength(32);
    expect(verdict.reason).toMatch(/^failedUpdates\.aVeryLong.*…$/);
    expect(await listMember('a@example.com')).toMatchObject({ state: 'failed', reason: `failedUpdates.${name}` });
  });

  it('sends a batch Iterable answers 409 again in halves: only the member the conflict is about fails', async () => {
    await accept(['a@example.com', 'b@example.com', 'c@example.com']);
    fake.state.setFaults({ forced: [{ path: '/api/lists/subscribe', bodyContains: '"b@example.com"', status: 409, times: 10 }] });
    expect(await service.syncList(listId)).toEqual({ kind: 'done' });
    expect(sentSubscribers().map((batch) => batch.length)).toEqual([3, 2, 1, 1, 1]);
    expect(members()).toEqual(['a@example.com', 'c@example.com']);
    expect(await listMember('b@example.com')).toMatchObject({ state: 'failed', reason: 'conflict' });
    expect((await calls()).map((c) => [c.subscriber_count, c.http_status, c.error])).toEqual([
      [3, 409, 'conflict'],
      [2, 409, 'conflict'],
      [1, 200, null],
      [1, 409, 'conflict'],
      [1, 200, null],
    ]);
    expect(await inbox()).toBe(0);
  });

  it('after a 409, a member sent with a userId goes once more by its userId alone', async () => {
    await accept(['a@example.com', { email: 'b@example.com', userId: 'u-b' }]);
    fake.state.setFaults({ forced: [{ path: '/api/lists/subscribe', bodyContains: '"b@example.com"', status: 409, times: 10 }] });
    expect(await service.syncList(listId)).toEqual({ kind: 'done' });
    expect(sentSubscribers()).toEqual([
      [{ email: 'a@example.com' }, { email: 'b@example.com', userId: 'u-b' }],
      [{ email: 'a@example.com' }],
      [{ email: 'b@example.com', userId: 'u-b' }],
      [{ userId: 'u-b' }],
    ]);
    expect(await listMember('b@example.com')).toMatchObject({ state: 'subscribed', reason: 'sent by userId (conflict)' });
    expect(await inbox()).toBe(0);
  });
});
