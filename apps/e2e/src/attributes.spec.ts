import { randomUUID } from 'node:crypto';
import { startFakeIterable, RunningFakeIterable, FakeProject } from '@audience-bridge/fake-iterable';
import { membershipMessage, Stack, startStack, waitFor } from '@audience-bridge/harness';
import { DRIVERS } from '@audience-bridge/persistence';

type Attribute = { key: string; action: 'upsert' | 'delete'; value?: string; list_value?: string[] };
type Action = 'add' | 'delete' | 'attribute_update';

// Audience user attributes → Iterable user fields (README "User attributes"): only the keys an account lists,
// typed as it says, newest wins per (user, attribute), sent in users/bulkUpdate batches with a verdict per user.
describe.each(DRIVERS)('user attributes on %s (API, worker, fake Iterable)', (driver) => {
  let fake: RunningFakeIterable;
  let stack: Stack;
  const base = driver === 'sqlite' ? 900 : 950;
  let next = 0;

  beforeAll(async () => {
    fake = await startFakeIterable();
    stack = await startStack(driver, {
      ITERABLE_API_BASE_URL: fake.url,
      SWEEP_INTERVAL_MS: '300',
      DELIVERY_RETRY_BASE_MS: '100',
      ITERABLE_REQUESTS_PER_SECOND: '100',
      ITERABLE_TIMEOUT_MS: '2000',
      ITERABLE_LATE_APPLY_WINDOW_MS: '2500',
    });
    await stack.startWorker();
  });
  afterAll(async () => {
    await stack.stop();
    await fake.close();
  });

  const newAccount = (forwardAttributes?: string) => {
    const accountId = base + next++;
    const apiKey = `attributes-key-${randomUUID()}`;
    const project: FakeProject = fake.state.createProject({ apiKey, type: 'hybrid', dataCenter: 'US' });
    const listId = fake.state.createList(project, `list ${accountId}`).id;
    // One mpid per email, the same in every message.
    const mpids = new Map<string, string>();
    const mpidOf = (email: string) => mpids.get(email) ?? (mpids.set(email, String(accountId * 100_000 + mpids.size)), mpids.get(email) as string);
    /** One message: each user with the audience action and their attribute changes. */
    const send = async (timestampMs: number, users: { email: string; customerId?: string; action?: Action; attributes: Attribute[] }[]) => {
      const message = membershipMessage(
        randomUUID(),
        timestampMs,
        users.map((u) => ({
          mpid: mpidOf(u.email),
          email: u.email,
          ...(u.customerId ? { customerId: u.customerId } : {}),
          audiences: [{ audienceId: 1, listId, action: u.action ?? 'attribute_update' }],
        })),
        { accountId, apiKey },
      ) as { account: { account_settings: Record<string, string> }; user_profiles: { audiences: Record<string, unknown>[] }[] };
      if (forwardAttributes !== undefined) message.account.account_settings['forwardAttributes'] = forwardAttributes;
      message.user_profiles.forEach((p, i) => (p.audiences[0] = { ...p.audiences[0], user_attributes: users[i]?.attributes ?? [] }));
      return stack.send(message);
    };
    const drained = () =>
      waitFor(
        async () => Number((await stack.dataSource.query(`SELECT COUNT(*) AS n FROM attribute_inbox WHERE account_id = ${accountId}`))[0].n) === 0,
        30_000,
      );
    // The request log keeps a faulted request's body as the text received.
    const bulkUpdates = () =>
      fake.state.requests
        .filter((r) => r.apiKey === apiKey && r.apiPath === '/api/users/bulkUpdate')
        .map((r) => ({ ...r, body: typeof r.body === 'string' ? (JSON.parse(r.body) as unknown) : r.body }));
    const verdicts = async () =>
      (
        await stack.dataSource.query(
          `SELECT email, action, outcome, reason, retryable FROM delivery_verdicts WHERE account_id = ${accountId} AND action = 'fields' ORDER BY id`,
        )
      ).map((v: Record<string, unknown>) => ({ ...v, retryable: Boolean(v['retryable']) }));
    return { accountId, apiKey, project, listId, send, drained, bulkUpdates, verdicts };
  };

  it('registers for user attributes and offers the forwardAttributes setting', async () => {
    const res = await stack.send({ type: 'module_registration_request', id: 'reg', timestamp_ms: 1 }, null);
    expect(res.body.permissions).toMatchObject({ allow_user_attributes: true, allow_audience_user_attributes: true });
    expect(res.body.audience_processing_registration.account_settings.map((s: { id: string }) => s.id)).toContain('forwardAttributes');
  });

  it('forwards and stores nothing by default', async () => {
    const a = newAccount();
    expect((await a.send(1000, [{ email: 'plain@example.com', action: 'add', attributes: [{ key: 'plan', action: 'upsert', value: 'gold' }] }])).status).toBe(
      200,
    );
    await stack.settled(a.accountId);
    await new Promise((r) => setTimeout(r, 700));
    expect(fake.state.members(a.listId)?.map((m) => m.email)).toEqual(['plain@example.com']);
    expect(await stack.dataSource.query(`SELECT * FROM user_attributes WHERE account_id = ${a.accountId}`)).toEqual([]);
    expect(a.bulkUpdates()).toEqual([]);
    expect(fake.state.userFields(a.project, { email: 'plain@example.com' })).toEqual({});
  });

  it('ends exactly at the newest state with every action and type, whatever order the messages come in', async () => {
    const a = newAccount('plan:string, ltv:number, vip:boolean, signup:date, tags:string');
    const jane = 'jane.fields@example.com';
    const t3 = {
      email: jane,
      attributes: [
        { key: 'plan', action: 'upsert', value: 'gold' },
        { key: 'vip', action: 'delete' },
        { key: 'tags', action: 'upsert', list_value: ['a', 'b'] },
      ] as Attribute[],
    };
    const t1 = {
      email: jane,
      attributes: [
        { key: 'plan', action: 'upsert', value: 'free' },
        { key: 'ltv', action: 'upsert', value: '1' },
        { key: 'vip', action: 'upsert', value: 'false' },
        { key: 'signup', action: 'upsert', value: '2024-01-02T03:04:05Z' },
        { key: 'tags', action: 'upsert', list_value: ['old'] },
      ] as Attribute[],
    };
    const t2 = {
      email: jane,
      attributes: [
        { key: 'ltv', action: 'upsert', value: '12.5' },
        { key: 'vip', action: 'upsert', value: 'TRUE' },
        { key: 'plan', action: 'upsert', value: 'silver' },
        { key: 'secret', action: 'upsert', value: 'not forwarded' },
      ] as Attribute[],
    };
    // Newest first, then the oldest, then the middle one; the middle one again (a retry changes nothing).
    for (const [at, users] of [
      [3000, [t3]],
      [1000, [t1]],
      [2000, [t2]],
      [2000, [t2]],
    ] as const) {
      expect((await a.send(at, [...users])).status).toBe(200);
      await new Promise((r) => setTimeout(r, 150));
    }
    await a.drained();
    expect(fake.state.userFields(a.project, { email: jane })).toEqual({
      plan: 'gold',
      ltv: 12.5,
      vip: null,
      signup: '2024-01-02T03:04:05.000Z',
      tags: ['a', 'b'],
    });
    const stored = await stack.dataSource.query(`SELECT attribute_key, value FROM user_attributes WHERE account_id = ${a.accountId} ORDER BY attribute_key`);
    expect(stored).toEqual([
      { attribute_key: 'ltv', value: '12.5' },
      { attribute_key: 'plan', value: '"gold"' },
      { attribute_key: 'signup', value: '"2024-01-02T03:04:05.000Z"' },
      { attribute_key: 'tags', value: '["a","b"]' },
      { attribute_key: 'vip', value: 'null' },
    ]);
    // Every call's users are delivered, one verdict per user per call; no call carries more than 1000 users.
    expect((await a.verdicts()).every((v: { outcome: string }) => v.outcome === 'delivered')).toBe(true);
    expect(a.bulkUpdates().every((r) => (r.body as { users: unknown[] }).users.length <= 1000)).toBe(true);
    const calls = await stack.dataSource.query(`SELECT action, list_id FROM delivery_calls WHERE account_id = ${a.accountId}`);
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.every((c: { action: string; list_id: unknown }) => c.action === 'bulkUpdate' && Number(c.list_id) === 0)).toBe(true);
    process.stdout.write(`[attributes] ${driver}: 4 messages → ${a.bulkUpdates().length} users/bulkUpdate call(s)\n`);
  });

  it('attribute_update changes fields and never membership', async () => {
    const a = newAccount('plan:string');
    await a.send(1000, [{ email: 'member@example.com', customerId: 'c-1', action: 'add', attributes: [{ key: 'plan', action: 'upsert', value: 'basic' }] }]);
    await stack.settled(a.accountId);
    await a.drained();
    const before = await stack.dataSource.query(`SELECT action, timestamp_ms FROM memberships WHERE account_id = ${a.accountId}`);
    expect(fake.state.userFields(a.project, { email: 'member@example.com' })).toEqual({ plan: 'basic' });

    await a.send(2000, [
      { email: 'member@example.com', customerId: 'c-1', action: 'attribute_update', attributes: [{ key: 'plan', action: 'upsert', value: 'platinum' }] },
      { email: 'outsider@example.com', action: 'attribute_update', attributes: [{ key: 'plan', action: 'upsert', value: 'trial' }] },
    ]);
    await a.drained();
    await stack.settled(a.accountId);
    expect(fake.state.userFields(a.project, { email: 'member@example.com' })).toEqual({ plan: 'platinum' });
    expect(fake.state.userFields(a.project, { email: 'outsider@example.com' })).toEqual({ plan: 'trial' });
    expect(fake.state.members(a.listId)?.map((m) => m.email)).toEqual(['member@example.com']);
    expect(await stack.dataSource.query(`SELECT action, timestamp_ms FROM memberships WHERE account_id = ${a.accountId}`)).toEqual(before);
  });

  it('records a field type Iterable refuses as a permanent verdict for that user, and a value that cannot be typed as skipped', async () => {
    const a = newAccount('ltv:number');
    // The project already has ltv as a string field: a number for it is refused.
    fake.state.seedUsers(a.project, [{ email: 'seeded@example.com', dataFields: { ltv: 'high' } }]);
    await a.send(1000, [
      { email: 'bob.refused@example.com', attributes: [{ key: 'ltv', action: 'upsert', value: '42' }] },
      { email: 'carol.text@example.com', attributes: [{ key: 'ltv', action: 'upsert', value: 'lots' }] },
    ]);
    await a.drained();
    await new Promise((r) => setTimeout(r, 700));
    const verdicts = await a.verdicts();
    expect(verdicts).toEqual(
      expect.arrayContaining([
        { email: 'bob.refused@example.com', action: 'fields', outcome: 'failed', reason: 'invalid data', retryable: false },
        { email: 'carol.text@example.com', action: 'fields', outcome: 'skipped', reason: 'attribute not a number', retryable: false },
      ]),
    );
    expect(verdicts).toHaveLength(2);
    // Sent once, not retried; carol was never sent.
    expect(a.bulkUpdates().map((r) => (r.body as { users: { email: string }[] }).users.map((u) => u.email))).toEqual([['bob.refused@example.com']]);
    expect(fake.state.userFields(a.project, { email: 'bob.refused@example.com' })).toBeUndefined();
  });

  it('sends a call refused whole again in halves until the refusal lands on its user, and retries a 500', async () => {
    const a = newAccount('ltv:number');
    fake.state.setFaults({
      forced: [
        { path: '/api/users/bulkUpdate', status: 500, times: 1 },
        {
          path: '/api/users/bulkUpdate',
          status: 400,
          bodyContains: 'dave.clash@example.com',
          times: 10,
          body: {
            msg: 'Project 1: The request does not have the same data types',
            code: 'RequestFieldsTypesMismatched',
            params: { validationErrors: { ltv: { expectedType: 'string' } } },
          },
        },
      ],
    });
    try {
      const users = ['u1', 'u2', 'dave.clash', 'u4'].map((name, i) => ({
        email: `${name}@example.com`,
        attributes: [{ key: 'ltv', action: 'upsert', value: String(i) }] as Attribute[],
      }));
      expect((await a.send(1000, users)).status).toBe(200);
      await a.drained();
      const verdicts = await a.verdicts();
      expect(verdicts.filter((v: { outcome: string }) => v.outcome === 'failed')).toEqual([
        { email: 'dave.clash@example.com', action: 'fields', outcome: 'failed', reason: 'invalid data', retryable: false },
      ]);
      expect(verdicts.filter((v: { outcome: string }) => v.outcome === 'delivered')).toHaveLength(3);
      // 500 (retried), the whole batch refused, its halves, the half with dave halved again.
      expect(a.bulkUpdates().map((r) => (r.body as { users: unknown[] }).users.length)).toEqual([4, 4, 2, 2, 1, 1]);
      expect(fake.state.userFields(a.project, { email: 'u4@example.com' })).toEqual({ ltv: 3 });
    } finally {
      fake.state.setFaults({});
    }
  });

  it('a call Iterable applies after the client gave up never has the last word: the newest fields are sent again after the window', async () => {
    const a = newAccount('plan:string');
    const jane = 'jane.late@example.com';
    // The first call carrying plan=old is answered after the client's 2 s timeout, and applied then (as Iterable does).
    fake.state.setFaults({ forced: [{ path: '/api/users/bulkUpdate', bodyContains: '"old"', delayMs: 3500, times: 1 }] });
    try {
      const started = Date.now();
      expect((await a.send(1000, [{ email: jane, attributes: [{ key: 'plan', action: 'upsert', value: 'old' }] }])).status).toBe(200);
      await waitFor(async () => a.bulkUpdates().length === 1, 10_000);
      expect((await a.send(2000, [{ email: jane, attributes: [{ key: 'plan', action: 'upsert', value: 'new' }] }])).status).toBe(200);
      // The retry after the timeout sends plan=new; the stale call lands after it, 3.5 s after it was sent.
      await waitFor(async () => fake.state.userFields(a.project, { email: jane })?.['plan'] === 'new', 10_000);
      await new Promise((r) => setTimeout(r, Math.max(0, started + 4000 - Date.now())));
      await waitFor(async () => fake.state.userFields(a.project, { email: jane })?.['plan'] === 'new', 10_000);
      await a.drained();
      expect(fake.state.userFields(a.project, { email: jane })).toEqual({ plan: 'new' });
      // The stale call, the retry, and the recheck after the window (each of the later two carries the newest value).
      const sent = a.bulkUpdates().map((r) => (r.body as { users: { dataFields: { plan: string } }[] }).users[0]?.dataFields.plan);
      expect(sent[0]).toBe('old');
      expect(sent.slice(1).length).toBeGreaterThanOrEqual(2);
      expect(new Set(sent.slice(1))).toEqual(new Set(['new']));
    } finally {
      fake.state.setFaults({});
    }
  });

  it('sends a backlog in full batches of at most 1000 users', async () => {
    const a = newAccount('plan:string, ltv:number');
    fake.state.setFaults({ forced: [{ path: '/api/users/bulkUpdate', delayMs: 1500, times: 1 }] });
    try {
      const started = Date.now();
      // 2,500 users in 5 messages of 500 while the first call is slow: the rest wait and leave together.
      for (let m = 0; m < 5; m++) {
        const users = Array.from({ length: 500 }, (_, i) => ({
          email: `bulk-${m}-${i}@example.com`,
          attributes: [
            { key: 'plan', action: 'upsert', value: `p${i % 3}` },
            { key: 'ltv', action: 'upsert', value: String(i) },
          ] as Attribute[],
        }));
        expect((await a.send(1000 + m, users)).status).toBe(200);
      }
      await a.drained();
      const sizes = a.bulkUpdates().map((r) => (r.body as { users: unknown[] }).users.length);
      process.stdout.write(
        `[attributes] ${driver}: 2,500 users → ${sizes.length} users/bulkUpdate calls of ${sizes.join(', ')} users in ${Date.now() - started} ms\n`,
      );
      expect(sizes.reduce((x, y) => x + y, 0)).toBe(2500);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(1000);
      expect(sizes.length).toBeLessThanOrEqual(5);
      expect(fake.state.userFields(a.project, { email: 'bulk-4-499@example.com' })).toEqual({ plan: 'p1', ltv: 499 });
    } finally {
      fake.state.setFaults({});
    }
  });

  it("an erasure removes the subject's attribute values", async () => {
    const a = newAccount('plan:string');
    await a.send(1000, [{ email: 'erase.fields@example.com', customerId: 'c-erase', attributes: [{ key: 'plan', action: 'upsert', value: 'gold' }] }]);
    await a.drained();
    expect(Number((await stack.dataSource.query(`SELECT COUNT(*) AS n FROM user_attributes WHERE account_id = ${a.accountId}`))[0].n)).toBe(1);
    const dsr = {
      type: 'dsr_processing_request',
      id: randomUUID(),
      timestamp_ms: Date.now(),
      firehose_version: '3.2.0',
      account: { account_id: a.accountId, account_settings: { apiKey: a.apiKey, userIdField: 'customerId', forwardAttributes: 'plan:string' } },
      subject_request_id: `osdr-${a.accountId}`,
      subject_request_type: 'erasure',
      regulation: 'gdpr',
      submitted_time: new Date().toISOString(),
      api_version: '3.0',
      subject_identities: { email: { encoding: 'raw', value: 'erase.fields@example.com' } },
    };
    expect((await stack.send(dsr)).status).toBe(200);
    expect(await stack.dataSource.query(`SELECT * FROM user_attributes WHERE account_id = ${a.accountId}`)).toEqual([]);
  });

  it('refuses a forwardAttributes setting it cannot use with a 400 naming it', async () => {
    const a = newAccount('plan:text');
    const res = await a.send(1000, [{ email: 'x@example.com', attributes: [] }]);
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toMatch(/forwardAttributes/);
  });

  it('refuses forwarding an Iterable reserved field (email, userId, __proto__) with a 400 naming each, and stores nothing', async () => {
    const a = newAccount('plan, Email:string, userId, __proto__');
    const res = await a.send(1000, [{ email: 'victim@example.com', attributes: [{ key: 'Email', action: 'upsert', value: 'attacker@example.com' }] }]);
    expect(res.status).toBe(400);
    const text = JSON.stringify(res.body);
    for (const key of ['Email', 'userId', '__proto__']) expect(text).toContain(key);
    await new Promise((r) => setTimeout(r, 700));
    expect(a.bulkUpdates()).toEqual([]);
    expect(await a.verdicts()).toEqual([]);
  });

  it('records an impossible date, a year-0 date, an 11-digit epoch and an inexact integer as skipped with their reasons, never sent changed', async () => {
    const a = newAccount('signup:date, ltv:number');
    await a.send(1000, [
      { email: 'feb30@example.com', attributes: [{ key: 'signup', action: 'upsert', value: '2024-02-30' }] },
      { email: 'year0@example.com', attributes: [{ key: 'signup', action: 'upsert', value: '0000-01-01' }] },
      { email: 'epoch11@example.com', attributes: [{ key: 'signup', action: 'upsert', value: '17041646450' }] },
      { email: 'big@example.com', attributes: [{ key: 'ltv', action: 'upsert', value: '12345678901234567890' }] },
      { email: 'fine@example.com', attributes: [{ key: 'signup', action: 'upsert', value: '2024-02-29' }] },
    ]);
    await a.drained();
    await new Promise((r) => setTimeout(r, 700));
    const skipped = (email: string, reason: string) => ({ email, action: 'fields', outcome: 'skipped', reason, retryable: false });
    expect(await a.verdicts()).toEqual(
      expect.arrayContaining([
        skipped('feb30@example.com', 'attribute not a date'),
        skipped('year0@example.com', 'attribute date out of range'),
        skipped('epoch11@example.com', 'attribute not a date'),
        skipped('big@example.com', 'attribute number out of range'),
      ]),
    );
    expect(a.bulkUpdates().flatMap((r) => (r.body as { users: { email: string }[] }).users.map((u) => u.email))).toEqual(['fine@example.com']);
    expect(fake.state.userFields(a.project, { email: 'fine@example.com' })).toMatchObject({ signup: '2024-02-29T00:00:00.000Z' });
  });
});
