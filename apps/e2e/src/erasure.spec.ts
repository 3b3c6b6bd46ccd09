import { randomUUID } from 'node:crypto';
import { startFakeIterable, RunningFakeIterable } from '@audience-bridge/fake-iterable';
import { membershipMessage, Stack, startStack, waitFor } from '@audience-bridge/harness';
import { DRIVERS } from '@audience-bridge/persistence';

// Data subject erasure (mParticle's dsr_processing_request): stored before the 200, the subject taken off
// their lists, forgotten at Iterable in the project of the account, and no trace of them left here.
describe.each(DRIVERS)('data subject erasure on %s (API, worker, fake Iterable)', (driver) => {
  let fake: RunningFakeIterable;
  let stack: Stack;

  beforeAll(async () => {
    fake = await startFakeIterable();
    stack = await startStack(driver, {
      ITERABLE_API_BASE_URL: fake.url,
      SWEEP_INTERVAL_MS: '300',
      DELIVERY_RETRY_BASE_MS: '100',
      ITERABLE_REQUESTS_PER_SECOND: '100',
      DRIFT_SETTLE_MS: '0',
    });
    await stack.startWorker();
  });
  afterAll(async () => {
    await stack.stop();
    await fake.close();
  });

  /** Every row of every table of the schema, as one lower-cased text (what "no trace" is checked against). */
  const everything = async () => {
    const tables: { name: string }[] = await stack.dataSource.query(
      driver === 'sqlite' ? `SELECT name FROM sqlite_master WHERE type = 'table'` : `SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'`,
    );
    expect(tables.length).toBeGreaterThanOrEqual(15);
    return JSON.stringify(await Promise.all(tables.map((t) => stack.dataSource.query(`SELECT * FROM "${t.name}"`)))).toLowerCase();
  };

  const dsr = (accountId: number, apiKey: string, requestId: string, identities: Record<string, string>) => ({
    type: 'dsr_processing_request',
    id: randomUUID(),
    timestamp_ms: Date.now(),
    firehose_version: '3.2.0',
    account: { account_id: accountId, account_settings: { apiKey, userIdField: 'customerId' } },
    subject_request_id: requestId,
    subject_request_type: 'erasure',
    regulation: 'gdpr',
    submitted_time: new Date().toISOString(),
    api_version: '3.0',
    subject_identities: Object.fromEntries(Object.entries(identities).map(([type, value]) => [type, { encoding: 'raw', value }])),
  });

  it('registers for erasure', async () => {
    const res = await stack.send({ type: 'module_registration_request', id: 'reg', timestamp_ms: 1 }, null);
    expect(res.body.dsr_processing_registration).toMatchObject({ supported_dsr_types: ['erasure'] });
  });

  it('takes the subject off every list, forgets them at Iterable once, and keeps nothing of them', async () => {
    const accountId = driver === 'sqlite' ? 801 : 802;
    const apiKey = `erasure-key-${randomUUID()}`;
    const project = fake.state.createProject({ apiKey, type: 'hybrid', dataCenter: 'US' });
    const [listA, listB] = [fake.state.createList(project, 'a').id, fake.state.createList(project, 'b').id];
    const jane = { mpid: '9001', email: 'Jane.Erased@Example.com', customerId: 'cust-erased-9001' };
    await stack.send(
      membershipMessage(
        randomUUID(),
        1000,
        [
          {
            ...jane,
            audiences: [
              { audienceId: 1, listId: listA, action: 'add' },
              { audienceId: 2, listId: listB, action: 'add' },
            ],
          },
          { mpid: '9002', email: 'bob@example.com', customerId: 'cust-9002', audiences: [{ audienceId: 1, listId: listA, action: 'add' }] },
        ],
        { accountId, apiKey },
      ),
    );
    await stack.settled(accountId);
    expect(
      fake.state
        .members(listA)
        ?.map((m) => m.email)
        .sort(),
    ).toEqual(['bob@example.com', 'jane.erased@example.com']);
    expect(await everything()).toContain('jane.erased@example.com');
    // The compact audit holds the users' keys (their mpids here), not their emails.
    const compactKeys = async () =>
      (await stack.dataSource.query(`SELECT user_keys FROM delivery_successes WHERE account_id = ${accountId}`))
        .flatMap((r: { user_keys: string }) => JSON.parse(r.user_keys) as string[])
        .sort();
    expect(await compactKeys()).toEqual(['9001', '9001', '9002']);
    // A drift check that found her missing (taken off list B by hand) keeps her email in its sample.
    fake.state.operatorEdit(listB, { remove: [{ email: 'jane.erased@example.com' }] });
    expect((await stack.admin('POST', `/v1/accounts/${accountId}/lists/${listB}/drift-check`, { repair: false })).status).toBe(202);
    await waitFor(async () => (await stack.admin('GET', `/v1/accounts/${accountId}/lists/${listB}/drift-check`)).body?.state === 'done', 30_000);
    expect((await stack.admin('GET', `/v1/accounts/${accountId}/lists/${listB}/drift-check`)).body.missingSample).toEqual(['jane.erased@example.com']);

    const sentAt = Date.now();
    const answer = await stack.send(dsr(accountId, apiKey, 'osdr-1', { email: jane.email, controller_customer_id: jane.customerId }));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ type: 'dsr_processing_response' });
    expect(JSON.stringify(answer.body).toLowerCase()).not.toContain('jane.erased');
    // Stored before the answer: the request is there at once; a repeat of it is the same erasure.
    expect((await stack.send(dsr(accountId, apiKey, 'osdr-1', { email: jane.email }))).status).toBe(200);
    expect(await stack.dataSource.query(`SELECT subject_request_id FROM erasure_requests WHERE account_id = ${accountId}`)).toEqual([
      { subject_request_id: 'osdr-1' },
    ]);

    await waitFor(
      async () => (await stack.dataSource.query(`SELECT state FROM erasure_requests WHERE account_id = ${accountId}`))[0]?.state === 'done',
      30_000,
    );
    const elapsedMs = Date.now() - sentAt;
    process.stdout.write(`[erasure] ${driver}: erased in ${elapsedMs} ms (taken off 2 lists, forgotten at Iterable)\n`);

    // Off both lists, forgotten by email and by userId; the other user untouched.
    expect(fake.state.members(listA)?.map((m) => m.email)).toEqual(['bob@example.com']);
    expect(fake.state.members(listB)).toEqual([]);
    const forgets = fake.state.requests.filter((r) => r.apiKey === apiKey && r.apiPath === '/api/users/forget');
    expect(forgets.map((r) => r.body)).toEqual([{ email: 'jane.erased@example.com' }, { userId: 'cust-erased-9001' }]);
    expect(project.forgottenEmails.has('jane.erased@example.com')).toBe(true);

    // No trace here: not in any table, log or answer; the request itself keeps only its id, times and counts.
    const stored = await everything();
    for (const trace of ['jane.erased@example.com', 'cust-erased-9001']) {
      expect(stored).not.toContain(trace);
      expect(stack.api.output().toLowerCase()).not.toContain(trace);
      expect(stack.workers[0]?.output().toLowerCase()).not.toContain(trace);
    }
    expect(stored).toContain('bob@example.com');
    expect(await compactKeys()).toEqual(['9002']);
    expect((await stack.admin('GET', `/v1/accounts/${accountId}/lists/${listB}/drift-check`)).body).toMatchObject({ missing: 1, missingSample: [] });
    const [request] = await stack.dataSource.query(
      `SELECT state, subject, memberships_removed, forget_calls FROM erasure_requests WHERE account_id = ${accountId}`,
    );
    expect({ ...request, memberships_removed: Number(request.memberships_removed), forget_calls: Number(request.forget_calls) }).toEqual({
      state: 'done',
      subject: null,
      memberships_removed: 2,
      forget_calls: 2,
    });
  });

  it('retries a forget Iterable answers 500, then completes', async () => {
    const accountId = driver === 'sqlite' ? 811 : 812;
    const apiKey = `erasure-key-${randomUUID()}`;
    fake.state.createProject({ apiKey, type: 'hybrid', dataCenter: 'US' });
    fake.state.setFaults({ forced: [{ path: '/api/users/forget', status: 500, times: 2 }] });
    try {
      expect((await stack.send(dsr(accountId, apiKey, 'osdr-2', { email: 'retry.me@example.com' }))).status).toBe(200);
      await waitFor(
        async () => (await stack.dataSource.query(`SELECT state FROM erasure_requests WHERE account_id = ${accountId}`))[0]?.state === 'done',
        30_000,
      );
      const [row] = await stack.dataSource.query(`SELECT attempts, forget_calls FROM erasure_requests WHERE account_id = ${accountId}`);
      expect(Number(row.attempts)).toBeGreaterThanOrEqual(3);
      expect(Number(row.forget_calls)).toBe(1);
    } finally {
      fake.state.setFaults({});
    }
  });

  describe('an erased subject stays erased, whatever arrives meanwhile or later', () => {
    /** One account on its own project with one list, the subject and another user on it, delivered. */
    const onList = async (accountId: number, subject: string) => {
      const apiKey = `erasure-key-${randomUUID()}`;
      const project = fake.state.createProject({ apiKey, type: 'hybrid', dataCenter: 'US' });
      const listId = fake.state.createList(project, `l-${accountId}`).id;
      const person = { mpid: `${accountId}01`, email: `${subject}@example.com`, customerId: `cust-${subject}` };
      const other = { mpid: `${accountId}02`, email: `other.${accountId}@example.com`, customerId: `cust-other-${accountId}` };
      /** A membership (or attribute) message for the subject stamped `timestampMs`, with `action` on the list. */
      const about = (timestampMs: number, action: 'add' | 'delete' | 'attribute_update') =>
        membershipMessage(randomUUID(), timestampMs, [{ ...person, audiences: [{ audienceId: 1, listId, action }] }], { accountId, apiKey });
      expect(
        (
          await stack.send(
            membershipMessage(
              randomUUID(),
              1000,
              [person, other].map((p) => ({ ...p, audiences: [{ audienceId: 1, listId, action: 'add' as const }] })),
              { accountId, apiKey },
            ),
          )
        ).status,
      ).toBe(200);
      await stack.settled(accountId);
      expect(
        fake.state
          .members(listId)
          ?.map((m) => m.email)
          .sort(),
      ).toEqual([other.email, person.email].sort());
      const erase = async (timestampMs: number) => {
        const answer = await stack.send({
          ...dsr(accountId, apiKey, `osdr-${accountId}`, { email: person.email, controller_customer_id: person.customerId }),
          timestamp_ms: timestampMs,
        });
        expect(answer.status).toBe(200);
      };
      const erased = () =>
        waitFor(async () => (await stack.dataSource.query(`SELECT state FROM erasure_requests WHERE account_id = ${accountId}`))[0]?.state === 'done', 30_000);
      /** Their unsubscribe calls Iterable accepted, and when the first forget was received. */
      const calls = () => {
        const mine = fake.state.requests.filter((r) => r.apiKey === apiKey);
        const forgetAt = mine.find((r) => r.apiPath === '/api/users/forget')?.id ?? Infinity;
        const unsubscribedBeforeForget = mine.some(
          (r) => r.apiPath === '/api/lists/unsubscribe' && r.status === 200 && r.id < forgetAt && JSON.stringify(r.body).includes(person.email),
        );
        return { unsubscribedBeforeForget, forgets: mine.filter((r) => r.apiPath === '/api/users/forget').length };
      };
      const traces = async () => {
        const stored = await everything();
        return [person.email, person.customerId].filter((t) => stored.includes(t.toLowerCase()));
      };
      const dropped = async () => Number(/audience_bridge_erased_changes_dropped_total (\d+)/.exec(await stack.metrics())?.[1] ?? 0);
      return { apiKey, project, listId, person, other, about, erase, erased, calls, traces, dropped };
    };

    it('an older add arriving while the erasure is still being processed neither keeps them on the list nor stores them again', async () => {
      const accountId = driver === 'sqlite' ? 831 : 832;
      const s = await onList(accountId, `during.${accountId}`);
      // The erasure's unsubscribe fails twice (the list backs off), so the older add arrives while it is being processed.
      fake.state.setFaults({ forced: [{ path: '/api/lists/unsubscribe', bodyContains: s.person.email, status: 500, times: 2 }] });
      try {
        const erasedAt = Date.now();
        await s.erase(erasedAt);
        expect((await stack.send(s.about(erasedAt - 60_000, 'add'))).status).toBe(200);
        await s.erased();
        await stack.settled(accountId);
      } finally {
        fake.state.setFaults({});
      }
      expect(s.calls()).toEqual({ unsubscribedBeforeForget: true, forgets: 2 });
      expect(fake.state.members(s.listId)?.map((m) => m.email)).toEqual([s.other.email]);
      expect(await s.traces()).toEqual([]);
    });

    it('after the erasure, an older add or attribute update is answered 200, counted and dropped: nothing of them is stored or sent', async () => {
      const accountId = driver === 'sqlite' ? 833 : 834;
      const s = await onList(accountId, `after.${accountId}`);
      const erasedAt = Date.now();
      await s.erase(erasedAt);
      await s.erased();
      const droppedBefore = await s.dropped();
      const sentBefore = fake.state.requests.length;
      for (const action of ['add', 'attribute_update', 'delete'] as const) {
        expect((await stack.send(s.about(erasedAt - 1, action))).status).toBe(200);
      }
      await stack.settled(accountId);
      expect(await s.dropped()).toBe(droppedBefore + 3);
      expect(await s.traces()).toEqual([]);
      expect(fake.state.requests.slice(sentBefore).filter((r) => JSON.stringify(r.body ?? '').includes(s.person.email))).toEqual([]);
      expect(fake.state.members(s.listId)?.map((m) => m.email)).toEqual([s.other.email]);
      for (const out of [stack.api.output(), stack.workers[0]?.output() ?? '']) expect(out.toLowerCase()).not.toContain(s.person.email);
    });

    it('after the erasure, a newer add is a new consent: stored and sent as for a new user (Iterable refuses the forgotten user)', async () => {
      const accountId = driver === 'sqlite' ? 835 : 836;
      const s = await onList(accountId, `newer.${accountId}`);
      const erasedAt = Date.now();
      await s.erase(erasedAt);
      await s.erased();
      expect((await stack.send(s.about(erasedAt + 1, 'add'))).status).toBe(200);
      await stack.settled(accountId);
      expect(await s.traces()).toEqual([s.person.email, s.person.customerId]);
      const [verdict] = await stack.dataSource.query(
        `SELECT outcome, reason FROM delivery_verdicts WHERE account_id = ${accountId} AND email = '${s.person.email}' AND action = 'add'`,
      );
      expect(verdict).toMatchObject({ outcome: 'failed', reason: 'forgotten' });
      expect(fake.state.members(s.listId)?.map((m) => m.email)).toEqual([s.other.email]);
    });
  });

  it('refuses a malformed request with 400 naming the field, storing nothing', async () => {
    const before = await stack.dataSource.query(`SELECT COUNT(*) AS n FROM erasure_requests`);
    const res = await stack.send({ ...dsr(821, 'k-821-000000000000', 'osdr-3', {}), subject_identities: [{ type: 'email', value: 'x@y.io' }] });
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/subject_identities/);
    expect(await stack.dataSource.query(`SELECT COUNT(*) AS n FROM erasure_requests`)).toEqual(before);
  });
});
