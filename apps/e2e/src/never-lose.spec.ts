import { randomUUID } from 'node:crypto';
import { startFakeIterable, RunningFakeIterable } from '@audience-bridge/fake-iterable';
import { membershipMessage, Stack, startStack, waitFor } from '@audience-bridge/harness';
import { DRIVERS } from '@audience-bridge/persistence';

// Once mParticle has its 200, the change is ours: transient failures never give up, and a call whose
// answer never came (Iterable applied it late) never has the last word.
describe.each(DRIVERS)('nothing acknowledged is lost or overwritten on %s', (driver) => {
  let fake: RunningFakeIterable;
  let stack: Stack;
  let nextAccount = 400;
  // With these settings the old budget (8 attempts, 100 ms doubling, capped at 500 ms) was spent in about 3 s.
  const env = {
    SWEEP_INTERVAL_MS: '300',
    DELIVERY_RETRY_BASE_MS: '100',
    DELIVERY_RETRY_MAX_MS: '500',
    ITERABLE_TIMEOUT_MS: '600',
    ITERABLE_LATE_APPLY_WINDOW_MS: '1500',
    ITERABLE_REQUESTS_PER_SECOND: '200',
    LIST_LEASE_TTL_MS: '1500',
  };

  beforeAll(async () => {
    fake = await startFakeIterable();
    stack = await startStack(driver, { ITERABLE_API_BASE_URL: fake.url, ...env });
    await stack.startWorker();
  });
  afterAll(async () => {
    await stack.stop();
    await fake.close();
  });
  afterEach(() => fake.state.setFaults({}));

  function newAccount() {
    const accountId = nextAccount++;
    const apiKey = `it-key-${randomUUID()}`;
    const project = fake.state.createProject({ apiKey, type: 'hybrid', dataCenter: 'US' });
    const listId = fake.state.createList(project, `a${accountId}`).id;
    let clock = 1000;
    const send = async (mpid: string, action: 'add' | 'delete', email = `${mpid}@example.com`) => {
      clock += 1000;
      const answer = await stack.send(
        membershipMessage(randomUUID(), clock, [{ mpid, email, audiences: [{ audienceId: 1, listId, action }] }], { accountId, apiKey }),
      );
      expect(answer.status).toBe(200);
    };
    return { accountId, apiKey, listId, send };
  }
  const emails = (listId: number) => (fake.state.members(listId) ?? []).map((m) => m.email).sort();
  const failedMembers = async (listId: number) =>
    Number((await stack.dataSource.query(`SELECT COUNT(*) AS n FROM list_members WHERE list_id = ${listId} AND state = 'failed'`))[0].n);
  const calls = (apiKey: string, path: string) => fake.state.requests.filter((r) => r.apiKey === apiKey && r.apiPath === path);

  it('delivers everything after an outage longer than the old retry budget, and shows the wait meanwhile', async () => {
    const { accountId, apiKey, listId, send } = newAccount();
    fake.state.setFaults({ errorRates: { status500: 1 } });
    for (const mpid of ['501', '502', '503']) await send(mpid, 'add');
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const stats = (await stack.admin('GET', '/v1/stats')).body;
    expect(stats.pending).toBeGreaterThanOrEqual(3);
    expect(stats.oldestPendingAgeMs).toBeGreaterThanOrEqual(4000);
    expect(stats.failingLists).toBeGreaterThanOrEqual(1);
    const metrics = await stack.metrics();
    expect(Number(/audience_bridge_oldest_pending_seconds ([\d.]+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(4);
    expect(calls(apiKey, '/api/lists/subscribe').length).toBeGreaterThan(8);

    fake.state.setFaults({});
    await stack.settled(accountId);
    expect(emails(listId)).toEqual(['501@example.com', '502@example.com', '503@example.com']);
    expect(await failedMembers(listId)).toBe(0);
    expect((await stack.admin('GET', '/v1/stats')).body.failingLists).toBe(0);
  }, 30_000);

  it('keeps going under steady throttling without Retry-After, and waits at least the floor after Retry-After: 0', async () => {
    const { accountId, apiKey, listId, send } = newAccount();
    fake.state.setFaults({ rateLimit: { requestsPerSecond: 1 } });
    for (let i = 0; i < 6; i++) await send(`61${i}`, 'add');
    await stack.settled(accountId, 20_000);
    expect(emails(listId)).toHaveLength(6);
    expect(await failedMembers(listId)).toBe(0);

    fake.state.setFaults({ forced: [{ times: 4, path: '/api/lists/subscribe', status: 429, retryAfterSeconds: 0 }] });
    await send('620', 'add');
    await stack.settled(accountId);
    expect(emails(listId)).toContain('620@example.com');
    const tries = calls(apiKey, '/api/lists/subscribe')
      .slice(-5)
      .map((r) => r.timeMs);
    const gaps = tries.slice(1).map((t, i) => t - (tries[i] as number));
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(90);
  }, 40_000);

  it('never lets a subscribe applied after the client gave up be the last word', async () => {
    const { accountId, apiKey, listId, send } = newAccount();
    // The first subscribe is answered after 1.2 s (the client gives up at 0.6 s) and applied then.
    fake.state.setFaults({ forced: [{ times: 1, path: '/api/lists/subscribe', delayMs: 1200 }] });
    await send('701', 'add');
    await waitFor(async () => calls(apiKey, '/api/lists/subscribe').length > 0, 5000, 20);
    await send('701', 'delete');
    // The delete goes out while the late subscribe is still on its way...
    await waitFor(async () => calls(apiKey, '/api/lists/unsubscribe').length > 0, 5000, 20);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    // ...and the recheck after the late-apply window brings the list back to the newest state.
    await stack.settled(accountId, 15_000);
    expect(emails(listId)).toEqual([]);
    expect(calls(apiKey, '/api/lists/unsubscribe').length).toBeGreaterThanOrEqual(2);
  }, 30_000);

  it('delivers a delete acknowledged while Iterable failed, through an audience removed and added again', async () => {
    const { accountId, apiKey, listId, send } = newAccount();
    await send('801', 'add');
    await stack.settled(accountId);
    expect(emails(listId)).toEqual(['801@example.com']);
    fake.state.setFaults({ errorRates: { status503: 1 } });
    await send('801', 'delete');
    const subscription = (action: string, t: number) => ({
      type: 'audience_subscription_request',
      id: randomUUID(),
      timestamp_ms: t,
      account: { account_id: accountId, account_settings: { apiKey } },
      audience_id: 1,
      audience_name: 'Audience 1',
      audience_subscription_settings: { listId: String(listId) },
      action,
    });
    expect((await stack.send(subscription('remove', 100_000))).status).toBe(200);
    expect((await stack.send(subscription('add', 100_001))).status).toBe(200);
    fake.state.setFaults({});
    await stack.settled(accountId);
    expect(emails(listId)).toEqual([]);
  }, 30_000);

  it('answers 200 to every first-contact message arriving at once for a new account and audience', async () => {
    const accountId = nextAccount++;
    const apiKey = `it-key-${randomUUID()}`;
    const listId = fake.state.createList(fake.state.createProject({ apiKey, type: 'hybrid', dataCenter: 'US' }), 'first').id;
    const subscription = (i: number) => ({
      type: 'audience_subscription_request',
      id: `first-${i}`,
      timestamp_ms: 1000 + i,
      account: { account_id: accountId, account_settings: { apiKey } },
      audience_id: 7,
      audience_name: 'First',
      audience_subscription_settings: { listId: String(listId) },
      action: 'add',
    });
    const membership = (i: number) =>
      membershipMessage(`first-m-${i}`, 2000 + i, [{ mpid: `90${i}`, email: `first${i}@example.com`, audiences: [{ audienceId: 7, listId, action: 'add' }] }], {
        accountId,
        apiKey,
      });
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => stack.send(i % 2 === 0 ? subscription(i) : membership(i))));
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
    await stack.settled(accountId);
    expect(emails(listId)).toEqual(['first1@example.com', 'first3@example.com', 'first5@example.com', 'first7@example.com']);
  });
});

// A delivery paused (a GC pause, a stopped VM) while it waits for a rate-limit slot outlives its lease; another
// worker takes the list and delivers newer changes. The paused one must not send its old batch when it wakes.
describe.each(DRIVERS)('a stale sender on %s', (driver) => {
  let fake: RunningFakeIterable;
  let stack: Stack;

  beforeAll(async () => {
    fake = await startFakeIterable();
    // 2 requests/s: the second call of a round waits about half a second for its slot.
    stack = await startStack(driver, {
      ITERABLE_API_BASE_URL: fake.url,
      SWEEP_INTERVAL_MS: '300',
      LIST_LEASE_TTL_MS: '1500',
      ITERABLE_REQUESTS_PER_SECOND: '2',
      ITERABLE_LATE_APPLY_WINDOW_MS: '1000',
    });
    await stack.startWorker();
    await stack.startWorker();
  });
  afterAll(async () => {
    await stack.stop();
    await fake.close();
  });

  it('never sends the rest of its old batch after another worker took the list', async () => {
    const accountId = 480;
    const apiKey = `it-key-${randomUUID()}`;
    const listId = fake.state.createList(fake.state.createProject({ apiKey, type: 'hybrid', dataCenter: 'US' }), 'stale').id;
    const message = (t: number, profiles: [string, 'add' | 'delete'][]) =>
      membershipMessage(
        randomUUID(),
        t,
        profiles.map(([mpid, action]) => ({ mpid, email: `${mpid}@example.com`, audiences: [{ audienceId: 1, listId, action }] })),
        { accountId, apiKey },
      );
    const calls = (path: string) => fake.state.requests.filter((r) => r.apiKey === apiKey && r.apiPath === path);
    expect((await stack.send(message(1000, [['751', 'add']]))).status).toBe(200);
    await stack.settled(accountId);
    await new Promise((resolve) => setTimeout(resolve, 600));

    // One round: unsubscribe 751, then subscribe 752, which waits for its rate-limit slot...
    expect(
      (
        await stack.send(
          message(2000, [
            ['751', 'delete'],
            ['752', 'add'],
          ]),
        )
      ).status,
    ).toBe(200);
    await waitFor(async () => calls('/api/lists/unsubscribe').some((r) => r.status === 200), 5000, 5);
    await new Promise((resolve) => setTimeout(resolve, 100));
    // ...and its worker is paused right there, past its lease.
    const [lease] = await stack.dataSource.query(`SELECT holder FROM list_leases WHERE list_id = ${listId}`);
    const paused = stack.workers.find((w) => w.child.pid === Number(String(lease.holder).split(':')[1]));
    expect(paused).toBeDefined();
    paused?.child.kill('SIGSTOP');
    try {
      // 752 leaves again; the other worker takes the list once the lease lapsed, and delivers the newest state.
      expect((await stack.send(message(3000, [['752', 'delete']]))).status).toBe(200);
      await waitFor(async () => calls('/api/lists/unsubscribe').some((r) => JSON.stringify(r.body).includes('752@example.com')), 15_000, 20);
    } finally {
      paused?.child.kill('SIGCONT');
    }
    await stack.settled(accountId, 15_000);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((fake.state.members(listId) ?? []).map((m) => m.email)).toEqual([]);
    // The paused delivery's old batch (subscribe 752) never went out: its right to send was checked right before.
    expect(calls('/api/lists/subscribe').filter((r) => JSON.stringify(r.body).includes('752@example.com'))).toHaveLength(0);
  }, 40_000);
});
