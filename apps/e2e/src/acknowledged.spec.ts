import { randomUUID } from 'node:crypto';
import { startFakeIterable, RunningFakeIterable } from '@audience-bridge/fake-iterable';
import { membershipMessage, Stack, startStack, waitFor } from '@audience-bridge/harness';
import { DRIVERS } from '@audience-bridge/persistence';

// Issue 21: a 200 to mParticle is a promise that the change is stored and will reach its list. Each case here
// broke that promise before its fix (storage faults themselves are also proven per driver in
// libs/persistence/src/database.spec.ts, where SQLite is made full with PRAGMA max_page_count).
describe.each(DRIVERS)('acknowledged means stored and delivered on %s', (driver) => {
  let fake: RunningFakeIterable;
  let stack: Stack;
  let nextAccount = 2100;

  beforeAll(async () => {
    fake = await startFakeIterable();
    stack = await startStack(driver, { ITERABLE_API_BASE_URL: fake.url, SWEEP_INTERVAL_MS: '300', ITERABLE_REQUESTS_PER_SECOND: '200' });
    await stack.startWorker();
  });
  afterAll(async () => {
    await stack.stop();
    await fake.close();
  });

  function newAccount(lists = 2) {
    const accountId = nextAccount++;
    const apiKey = `ack-key-${randomUUID()}`;
    const project = fake.state.createProject({ apiKey, type: 'hybrid', dataCenter: 'US' });
    return { accountId, apiKey, lists: Array.from({ length: lists }, (_, i) => fake.state.createList(project, `ack ${accountId} ${i}`).id) };
  }
  const emails = (listId: number) => (fake.state.members(listId) ?? []).map((m) => m.email).sort();
  const subscription = (accountId: number, apiKey: string, audienceId: number, listId: number, timestampMs: number, extra: Record<string, unknown> = {}) => ({
    type: 'audience_subscription_request',
    id: randomUUID(),
    timestamp_ms: timestampMs,
    firehose_version: '3.2.0',
    account: { account_id: accountId, account_settings: { apiKey, userIdField: 'customerId' } },
    audience_id: audienceId,
    audience_name: `Audience ${audienceId}`,
    audience_subscription_settings: { listId: String(listId) },
    action: 'add',
    ...extra,
  });

  it('delivers every first member of new audiences whose subscription races their first membership messages (§2)', async () => {
    // mParticle sends a new audience's subscription and its first memberships back to back: each audience's
    // subscription and three membership messages go out at once, for 24 new audiences over two accounts.
    const accounts = [newAccount(4), newAccount(4)];
    const desired = new Map<number, string[]>();
    const sends: Promise<{ status: number }>[] = [];
    const now = Date.now() - 60_000;
    for (const [a, { accountId, apiKey, lists }] of accounts.entries()) {
      for (let audienceId = 1; audienceId <= 12; audienceId++) {
        const listId = lists[audienceId % lists.length];
        sends.push(stack.send(subscription(accountId, apiKey, audienceId, listId, now)));
        for (let m = 0; m < 3; m++) {
          const profiles = Array.from({ length: 5 }, (_, p) => {
            const email = `r${a}-${audienceId}-${m}-${p}@example.com`;
            desired.set(listId, [...(desired.get(listId) ?? []), email]);
            return {
              mpid: `${a}${audienceId}${m}${p}`,
              email,
              customerId: `c${a}-${audienceId}-${m}-${p}`,
              audiences: [{ audienceId, listId, action: 'add' as const }],
            };
          });
          sends.push(stack.send(membershipMessage(randomUUID(), now + 1 + m, profiles, { accountId, apiKey })));
        }
      }
    }
    const answers = await Promise.all(sends);
    if (answers.some((a) => a.status !== 200))
      console.log(
        stack.api
          .output()
          .split('\n')
          .filter((l) => /error|Storage|WARN/i.test(l))
          .slice(-20)
          .join('\n'),
      );
    expect(answers.map((a) => a.status).filter((s) => s !== 200)).toEqual([]);
    for (const { accountId } of accounts) await stack.settled(accountId, 30_000);
    for (const [listId, want] of desired) expect({ listId, members: emails(listId) }).toEqual({ listId, members: [...want].sort() });
  });

  it('settles the whole-list row of a list no audience feeds any more: pending returns to 0 (§3)', async () => {
    const { accountId, apiKey, lists } = newAccount(3);
    const t0 = Date.now() - 60_000;
    // The audience is moved before anything was ever delivered to its first list, then removed from the second.
    expect((await stack.send(subscription(accountId, apiKey, 1, lists[0], t0))).status).toBe(200);
    const moved = subscription(accountId, apiKey, 1, lists[1], t0 + 1000, {
      action: 'update',
      previous_audience_subscription_settings: { listId: String(lists[0]) },
    });
    expect((await stack.send(moved)).status).toBe(200);
    const member = membershipMessage(
      randomUUID(),
      t0 + 2000,
      [{ mpid: '7', email: 'moved@example.com', customerId: 'c7', audiences: [{ audienceId: 1, listId: lists[1], action: 'add' }] }],
      {
        accountId,
        apiKey,
      },
    );
    expect((await stack.send(member)).status).toBe(200);
    await stack.settled(accountId, 20_000);
    expect(emails(lists[1])).toEqual(['moved@example.com']);
    expect((await stack.send(subscription(accountId, apiKey, 1, lists[1], t0 + 3000, { action: 'remove' }))).status).toBe(200);
    await waitFor(async () => (await stack.admin('GET', '/v1/stats')).body.pending === 0, 15_000);
    const stats = (await stack.admin('GET', '/v1/stats')).body;
    expect(stats).toMatchObject({ pending: 0 });
    expect(stats.oldestPendingAgeMs ?? 0).toBe(0);
    expect(emails(lists[0])).toEqual([]);
  });

  it('never lets a late older message bring back a revoked key, even when the newer message repeated the key in force (§4)', async () => {
    const { accountId, apiKey, lists } = newAccount(1);
    const t0 = Date.now() - 60_000;
    expect((await stack.send(subscription(accountId, apiKey, 1, lists[0], t0))).status).toBe(200);
    const add = (mpid: string, at: number, key: string) =>
      stack.send(
        membershipMessage(
          randomUUID(),
          at,
          [{ mpid, email: `${mpid}@example.com`, customerId: `c${mpid}`, audiences: [{ audienceId: 1, listId: lists[0], action: 'add' }] }],
          {
            accountId,
            apiKey: key,
          },
        ),
      );
    expect((await add('902', t0 + 20_000, apiKey)).status).toBe(200);
    expect((await add('901', t0 + 10_000, 'revoked-key-0000000000000000')).status).toBe(200);
    await stack.settled(accountId, 20_000);
    expect((await stack.admin('GET', `/v1/accounts/${accountId}`)).body).toMatchObject({ status: 'active', apiKeyLast4: apiKey.slice(-4) });
    expect(emails(lists[0])).toEqual(['901@example.com', '902@example.com']);
  });

  it('stores the good profile of a message whose other audience has a malformed listId, and holds that audience visibly (§5)', async () => {
    const { accountId, apiKey, lists } = newAccount(1);
    const message = membershipMessage(randomUUID(), Date.now() - 1000, [], { accountId, apiKey });
    message['user_profiles'] = [
      {
        mpid: '51',
        user_identities: [
          { type: 'email', encoding: 'raw', value: 'good@example.com' },
          { type: 'customer', encoding: 'raw', value: 'c51' },
        ],
        audiences: [{ audience_id: 1, audience_name: 'Good', audience_subscription_settings: { listId: String(lists[0]) }, action: 'add' }],
      },
      {
        mpid: '52',
        user_identities: [
          { type: 'email', encoding: 'raw', value: 'held@example.com' },
          { type: 'customer', encoding: 'raw', value: 'c52' },
        ],
        audiences: [{ audience_id: 2, audience_name: 'Bad setting', audience_subscription_settings: { listId: 'nope' }, action: 'add' }],
      },
    ];
    const answer = await stack.send(message);
    expect(answer.status).toBe(200);
    await stack.settled(accountId, 20_000);
    expect(emails(lists[0])).toEqual(['good@example.com']);
    const connections = (await stack.admin('GET', '/v1/connections')).body;
    const audience2 = JSON.stringify(connections).includes(`"audienceId":2`);
    expect(audience2).toBe(true);
    const user = (await stack.admin('GET', '/v1/users/52/memberships')).body.memberships;
    expect(user.find((m: { audienceId: number }) => m.audienceId === 2)).toMatchObject({ state: 'held' });
  });

  if (driver === 'postgres') {
    // A COMMIT that fails: a deferred constraint trigger, armed by the test, refuses every commit that wrote a
    // received message (as a full disk would: SQLSTATE 53100). No 200 for anything not stored; after the fault
    // clears every change sent again is stored once and delivered.
    it('answers 503 with Retry-After while commits fail, says database: cannot write, and recovers by itself (§1)', async () => {
      const { accountId, apiKey, lists } = newAccount(1);
      const t0 = Date.now() - 60_000;
      // The account and its audience exist: the messages below are steady ones (one statement each on PostgreSQL).
      expect((await stack.send(subscription(accountId, apiKey, 1, lists[0], t0 - 1))).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      await stack.dataSource.query(`CREATE TABLE IF NOT EXISTS commit_fault (armed boolean NOT NULL)`);
      await stack.dataSource.query(`DELETE FROM commit_fault`);
      await stack.dataSource.query(`INSERT INTO commit_fault VALUES (true)`);
      await stack.dataSource.query(`CREATE OR REPLACE FUNCTION refuse_commit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF (SELECT armed FROM commit_fault LIMIT 1) THEN
          RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full';
        END IF;
        RETURN NULL; END $$`);
      await stack.dataSource.query(`DROP TRIGGER IF EXISTS received_commit ON received_messages`);
      await stack.dataSource.query(
        `CREATE CONSTRAINT TRIGGER received_commit AFTER INSERT ON received_messages
         DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_commit()`,
      );
      await stack.dataSource.query(`CREATE OR REPLACE FUNCTION refuse_probe() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF (SELECT armed FROM commit_fault LIMIT 1) THEN RAISE EXCEPTION 'commit refused by the test'; END IF; RETURN NULL; END $$`);
      await stack.dataSource.query(`DROP TRIGGER IF EXISTS probe_commit ON storage_probe`);
      await stack.dataSource.query(
        `CREATE CONSTRAINT TRIGGER probe_commit AFTER INSERT ON storage_probe DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_probe()`,
      );
      try {
        const messages = Array.from({ length: 8 }, (_, i) =>
          membershipMessage(
            `fault-${accountId}-${i}`,
            t0 + i,
            [{ mpid: `6${i}`, email: `f${i}@example.com`, customerId: `c6${i}`, audiences: [{ audienceId: 1, listId: lists[0], action: 'add' }] }],
            {
              accountId,
              apiKey,
            },
          ),
        );
        const refused = await Promise.all(
          messages.map(async (m) => {
            const res = await fetch(`${stack.apiUrl}/v1/mparticle`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: 'Token inbound-token-for-e2e-tests-0001' },
              body: JSON.stringify(m),
            });
            return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.json() };
          }),
        );
        expect(refused.map((r) => r.status)).toEqual(messages.map(() => 503));
        expect(refused.every((r) => Number(r.retryAfter) > 0)).toBe(true);
        expect(refused[0].body).toMatchObject({ statusCode: 503, errorId: expect.any(String) });
        const ready = await fetch(`${stack.apiUrl}/health/ready`);
        expect(ready.status).toBe(503);
        expect(await ready.json()).toMatchObject({ message: 'database: cannot write' });
        expect(Number((await stack.dataSource.query(`SELECT COUNT(*) AS n FROM memberships WHERE account_id = $1`, [accountId]))[0].n)).toBe(0);

        await stack.dataSource.query(`UPDATE commit_fault SET armed = false`);
        await waitFor(async () => (await fetch(`${stack.apiUrl}/health/ready`)).status === 200, 10_000);
        // mParticle sends them again (twice, as a retry storm would): each stored once.
        for (const m of [...messages, ...messages]) expect((await stack.send(m)).status).toBe(200);
        await stack.settled(accountId, 20_000);
        expect(emails(lists[0])).toEqual(messages.map((_, i) => `f${i}@example.com`).sort());
        const [stored] = await stack.dataSource.query(
          `SELECT (SELECT COUNT(*) FROM memberships WHERE account_id = $1)::int AS memberships,
                  (SELECT COUNT(*) FROM received_messages WHERE account_id = $1)::int AS messages,
                  (SELECT SUM(duplicate_count) FROM received_messages WHERE account_id = $1)::int AS duplicates`,
          [accountId],
        );
        expect(stored).toEqual({ memberships: 8, messages: 8, duplicates: 8 });
      } finally {
        await stack.dataSource.query(`DROP TRIGGER IF EXISTS received_commit ON received_messages`);
        await stack.dataSource.query(`DROP TRIGGER IF EXISTS probe_commit ON storage_probe`);
      }
    });
  }
});
