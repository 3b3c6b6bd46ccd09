import { networkInterfaces } from 'node:os';
import { randomUUID } from 'node:crypto';
import { startFakeIterable, RunningFakeIterable } from '@audience-bridge/fake-iterable';
import { buildScenario, membershipMessage, Stack, startStack, waitFor } from '@audience-bridge/harness';
import { DRIVERS } from '@audience-bridge/persistence';

/** Sends messages, `parallel` at a time, and expects every one to be acknowledged. */
async function sendAll(stack: Stack, messages: unknown[], parallel = 8): Promise<void> {
  for (let i = 0; i < messages.length; i += parallel) {
    const answers = await Promise.all(messages.slice(i, i + parallel).map((m) => stack.send(m)));
    for (const a of answers) expect(a.status).toBe(200);
  }
}

describe.each(DRIVERS)('delivery to Iterable on %s (API, worker, Redis, fake Iterable)', (driver) => {
  let fake: RunningFakeIterable;
  let stack: Stack;
  let nextAccount = 100;

  beforeAll(async () => {
    fake = await startFakeIterable();
    stack = await startStack(driver, {
      ITERABLE_API_BASE_URL: fake.url,
      SWEEP_INTERVAL_MS: '500',
      DELIVERY_RETRY_BASE_MS: '100',
      LIST_LEASE_TTL_MS: '3000',
      ITERABLE_LATE_APPLY_WINDOW_MS: '1000',
      ITERABLE_REQUESTS_PER_SECOND: '200',
      ITERABLE_MAX_CONCURRENT: '8',
    });
    await stack.startWorker();
  });
  afterAll(async () => {
    await stack.stop();
    await fake.close();
  });
  afterEach(() => fake.state.setFaults({}));

  /** A new Iterable project (hybrid) with two lists, and a new mParticle account for it. */
  function newAccount(): { accountId: number; apiKey: string; lists: number[] } {
    const accountId = nextAccount++;
    const apiKey = `it-key-${randomUUID()}`;
    const project = fake.state.createProject({ apiKey, type: 'hybrid', dataCenter: 'US' });
    const lists = [fake.state.createList(project, `a${accountId}-one`).id, fake.state.createList(project, `a${accountId}-two`).id];
    return { accountId, apiKey, lists };
  }
  const members = (listId: number) => new Set((fake.state.members(listId) ?? []).map((m) => m.email));
  const subscribeCalls = (apiKey: string) => fake.state.requests.filter((r) => r.apiKey === apiKey && /lists\/(un)?subscribe$/.test(r.apiPath ?? r.path));

  it.each(['customerId', 'mpid'] as const)('ends with exactly the newest state for shuffled, duplicated traffic (%s mode)', async (userIdField) => {
    const { accountId, apiKey, lists } = newAccount();
    const scenario = buildScenario({
      seed: userIdField === 'mpid' ? 7 : 3,
      accountId,
      apiKey,
      userIdField,
      audiences: [
        { audienceId: 1, listId: lists[0] },
        { audienceId: 2, listId: lists[1] },
      ],
      users: 80,
      messages: 40,
      profilesPerMessage: 10,
    });
    await sendAll(stack, scenario.messages);
    await stack.settled(accountId);
    for (const listId of lists) expect(members(listId)).toEqual(scenario.expected.get(listId));
    if (userIdField === 'mpid') expect([...members(lists[0])].some((e) => e?.endsWith('@placeholder.email'))).toBe(true);

    // Every call the fake received is in the audit, with the same subscriber count, and batches were full.
    const received = subscribeCalls(apiKey);
    const { body } = await stack.admin('GET', `/v1/deliveries?accountId=${accountId}&limit=500`);
    expect(body.items).toHaveLength(received.length);
    const audited = body.items.map((d: { action: string; subscriberCount: number }) => `${d.action}:${d.subscriberCount}`).sort();
    const sent = received
      .map((r) => `${r.apiPath?.endsWith('unsubscribe') ? 'unsubscribe' : 'subscribe'}:${(r.body as { subscribers: unknown[] }).subscribers.length}`)
      .sort();
    expect(audited).toEqual(sent);
    expect(received.length).toBeLessThan(scenario.messages.length);
  });

  it('keeps lists exact through 429s (with and without Retry-After), 500s, 503s, resets and slow answers', async () => {
    const { accountId, apiKey, lists } = newAccount();
    fake.state.setFaults({
      seed: 11,
      errorRates: { status500: 0.1, status503: 0.05 },
      resetRate: 0.05,
      slow: { delayMs: 150, fraction: 0.2 },
      forced: [
        { times: 2, path: '/api/lists/subscribe', status: 429, retryAfterSeconds: 1 },
        { times: 1, path: '/api/lists/unsubscribe', status: 429 },
      ],
    });
    const scenario = buildScenario({
      seed: 21,
      accountId,
      apiKey,
      userIdField: 'customerId',
      audiences: [
        { audienceId: 1, listId: lists[0] },
        { audienceId: 2, listId: lists[1] },
      ],
      users: 60,
      messages: 30,
      profilesPerMessage: 8,
    });
    await sendAll(stack, scenario.messages);
    await stack.settled(accountId, 45_000);
    for (const listId of lists) expect(members(listId)).toEqual(scenario.expected.get(listId));
    const { body } = await stack.admin('GET', `/v1/deliveries?accountId=${accountId}&status=failed&limit=500`);
    expect(body.items.map((d: { httpStatus: number | null }) => d.httpStatus)).toEqual(expect.arrayContaining([429]));
    const [failed] = await stack.dataSource.query(`SELECT COUNT(*) AS n FROM list_members WHERE list_id IN (${lists.join(', ')}) AND state = 'failed'`);
    expect(Number(failed.n)).toBe(0);
  }, 60_000);

  it('recovers from a worker killed (SIGKILL) mid-delivery: its changes go out through another worker', async () => {
    const { accountId, apiKey, lists } = newAccount();
    const victim = await stack.startWorker();
    fake.state.setFaults({ slow: { delayMs: 400, fraction: 1 } });
    const scenario = buildScenario({
      seed: 31,
      accountId,
      apiKey,
      userIdField: 'customerId',
      audiences: [
        { audienceId: 1, listId: lists[0] },
        { audienceId: 2, listId: lists[1] },
      ],
      users: 50,
      messages: 20,
      profilesPerMessage: 8,
    });
    await sendAll(stack, scenario.messages);
    await waitFor(async () => subscribeCalls(apiKey).length > 0, 5000, 10);
    expect(await victim.stop('SIGKILL')).toBe('SIGKILL');
    fake.state.setFaults({});
    await stack.settled(accountId, 30_000);
    for (const listId of lists) expect(members(listId)).toEqual(scenario.expected.get(listId));
  }, 45_000);

  it('stops a worker on SIGTERM mid-delivery within seconds (exit 0), and another finishes its lists', async () => {
    const { accountId, apiKey, lists } = newAccount();
    const leaving = await stack.startWorker();
    fake.state.setFaults({ slow: { delayMs: 300, fraction: 1 } });
    const scenario = buildScenario({
      seed: 41,
      accountId,
      apiKey,
      userIdField: 'mpid',
      audiences: [
        { audienceId: 1, listId: lists[0] },
        { audienceId: 2, listId: lists[1] },
      ],
      users: 50,
      messages: 20,
      profilesPerMessage: 8,
    });
    await sendAll(stack, scenario.messages);
    await waitFor(async () => subscribeCalls(apiKey).length > 0, 5000, 10);
    const started = Date.now();
    expect(await leaving.stop('SIGTERM')).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
    fake.state.setFaults({});
    await stack.settled(accountId, 30_000);
    for (const listId of lists) expect(members(listId)).toEqual(scenario.expected.get(listId));
  }, 45_000);

  it('never has two deliveries for one list in flight, even when a call outlasts the lease (renewed meanwhile)', async () => {
    const { accountId, apiKey, lists } = newAccount();
    const second = await stack.startWorker();
    fake.state.setFaults({ slow: { delayMs: 4000, fraction: 1 } });
    await stack.send(
      membershipMessage('long-1', 1000, [{ mpid: '951', email: 'long1@example.com', audiences: [{ audienceId: 1, listId: lists[0], action: 'add' }] }], {
        accountId,
        apiKey,
      }),
    );
    await waitFor(async () => subscribeCalls(apiKey).length === 1, 5000, 10);
    await stack.send(
      membershipMessage('long-2', 2000, [{ mpid: '952', email: 'long2@example.com', audiences: [{ audienceId: 1, listId: lists[0], action: 'add' }] }], {
        accountId,
        apiKey,
      }),
    );
    await stack.settled(accountId, 30_000);
    expect(fake.state.statsFor(apiKey).maxInFlight).toBe(1);
    expect(members(lists[0])).toEqual(new Set(['long1@example.com', 'long2@example.com']));
    await second.stop('SIGTERM');
  }, 45_000);

  it('suspends the account on a bad key, tells mParticle, and delivers what waited after a resume', async () => {
    const { accountId, apiKey, lists } = newAccount();
    const msg = (id: string, t: number, key: string) =>
      membershipMessage(
        id,
        t,
        [{ mpid: '501', email: 'wait@example.com', customerId: 'c501', audiences: [{ audienceId: 1, listId: lists[0], action: 'add' }] }],
        { accountId, apiKey: key },
      );
    expect((await stack.send(msg('bad-1', 1000, 'not-a-known-key-0000'))).status).toBe(200);
    await waitFor(async () => (await stack.admin('GET', `/v1/accounts/${accountId}`)).body.status === 'suspended');
    expect((await stack.admin('GET', `/v1/accounts/${accountId}`)).body.suspendedReason).toMatch(/bad api key/);
    await waitFor(async () => (await stack.send(msg(`bad-2-${Date.now()}`, 1000, 'not-a-known-key-0000'))).body.suspend_subscription === true);
    expect(members(lists[0]).size).toBe(0);

    // The operator fixes the key, then resumes: the change that waited goes out.
    await stack.admin('PUT', `/v1/accounts/${accountId}`, { apiKey });
    expect((await stack.admin('POST', `/v1/accounts/${accountId}/resume`)).body.status).toBe('active');
    await stack.settled(accountId);
    expect(members(lists[0])).toEqual(new Set(['wait@example.com']));
  }, 30_000);

  it('suspends the audience on an unknown list and delivers after the list exists and the audience resumes', async () => {
    const { accountId, apiKey } = newAccount();
    const missingList = 990_000 + accountId;
    const msg = membershipMessage(
      'nolist-1',
      1000,
      [{ mpid: '601', email: 'nolist@example.com', audiences: [{ audienceId: 5, listId: missingList, action: 'add' }] }],
      { accountId, apiKey },
    );
    expect((await stack.send(msg)).status).toBe(200);
    await waitFor(async () => (await stack.admin('GET', `/v1/accounts/${accountId}/audiences/5`)).body.status === 'suspended');
    expect((await stack.admin('GET', `/v1/accounts/${accountId}/audiences/5`)).body.suspendedReason).toMatch(/unknown list/);

    fake.state.createList(fake.state.projectFor(apiKey), 'created later', undefined, missingList);
    expect((await stack.admin('POST', `/v1/accounts/${accountId}/audiences/5/resume`)).body.status).toBe('active');
    await stack.settled(accountId);
    expect(members(missingList)).toEqual(new Set(['nolist@example.com']));
  }, 30_000);

  it('in dry run records what it would send and sends nothing; going live brings the list to the newest state', async () => {
    const { accountId, apiKey, lists } = newAccount();
    await stack.send(membershipMessage('dry-0', 1, [], { accountId, apiKey }));
    await stack.admin('PUT', `/v1/accounts/${accountId}`, { dryRun: true });
    await stack.send(
      membershipMessage('dry-1', 1000, [{ mpid: '701', email: 'dry@example.com', audiences: [{ audienceId: 1, listId: lists[0], action: 'add' }] }], {
        accountId,
        apiKey,
      }),
    );
    await stack.settled(accountId);
    expect(subscribeCalls(apiKey)).toHaveLength(0);
    const { body } = await stack.admin('GET', `/v1/deliveries?accountId=${accountId}&status=dry-run`);
    expect(body.items).toEqual([expect.objectContaining({ action: 'subscribe', subscriberCount: 1, dryRun: true, httpStatus: null })]);
    const history = await stack.admin('GET', '/v1/users/701/memberships');
    expect(history.body.memberships[0]).toMatchObject({ state: 'none', history: [expect.objectContaining({ outcome: 'skipped', reason: 'dry run' })] });
    // Changed during the dry run: a delete for another user who never reached Iterable, and a newer add.
    await stack.send(
      membershipMessage('dry-2', 2000, [{ mpid: '702', email: 'dry2@example.com', audiences: [{ audienceId: 1, listId: lists[0], action: 'add' }] }], {
        accountId,
        apiKey,
      }),
    );
    await stack.send(
      membershipMessage('dry-3', 3000, [{ mpid: '702', email: 'dry2@example.com', audiences: [{ audienceId: 1, listId: lists[0], action: 'delete' }] }], {
        accountId,
        apiKey,
      }),
    );
    await stack.settled(accountId);
    expect(subscribeCalls(apiKey)).toHaveLength(0);

    // Going live needs no replay: the list is brought to the newest state (not a replay of the dry run's history).
    await stack.admin('PUT', `/v1/accounts/${accountId}`, { dryRun: false });
    await stack.settled(accountId);
    expect(members(lists[0])).toEqual(new Set(['dry@example.com']));
    expect((await stack.admin('GET', '/v1/users/701/memberships')).body.memberships[0]).toMatchObject({ state: 'subscribed' });
  });

  it('records per-user failures with Iterable’s reason, and replay sends the failed changes again', async () => {
    const { accountId, apiKey, lists } = newAccount();
    fake.state.forget(fake.state.projectFor(apiKey), ['gone@example.com']);
    fake.state.setFaults({ forced: [{ times: 1, path: '/api/lists/subscribe', status: 400, body: { msg: 'bad', code: 'BadParams', params: {} } }] });
    await stack.send(
      membershipMessage(
        'fail-1',
        1000,
        [
          { mpid: '801', email: 'gone@example.com', audiences: [{ audienceId: 1, listId: lists[0], action: 'add' }] },
          { mpid: '802', email: 'ok@example.com', audiences: [{ audienceId: 1, listId: lists[0], action: 'add' }] },
        ],
        { accountId, apiKey },
      ),
    );
    await stack.settled(accountId);
    const states = await stack.dataSource.query(`SELECT member_key, state, reason FROM list_members WHERE list_id = ${lists[0]} ORDER BY member_key`);
    expect(states.map((s: { state: string; reason: string }) => [s.state, s.reason])).toEqual([
      ['failed', 'bad request'],
      ['failed', 'bad request'],
    ]);

    expect((await stack.admin('POST', '/v1/replay', { accountId, reason: 'bad request' })).body).toEqual({ requeued: 2, lists: 1 });
    await stack.settled(accountId);
    expect(members(lists[0])).toEqual(new Set(['ok@example.com']));
    const gone = await stack.admin('GET', '/v1/users/801/memberships');
    expect(gone.body.memberships[0]).toMatchObject({ state: 'failed', reason: 'forgotten' });
    expect(gone.body.memberships[0].history.map((h: { reason: string }) => h.reason)).toEqual(['forgotten', 'bad request']);
  });

  it('sends again the users of a call whose failures Iterable counted but did not name', async () => {
    const { accountId, apiKey, lists } = newAccount();
    fake.state.setFaults({ forced: [{ times: 1, path: '/api/lists/subscribe', status: 200, body: { successCount: 0, failCount: 1, failedUpdates: {} } }] });
    await stack.send(
      membershipMessage('unnamed-1', 1000, [{ mpid: '851', email: 'unnamed@example.com', audiences: [{ audienceId: 1, listId: lists[0], action: 'add' }] }], {
        accountId,
        apiKey,
      }),
    );
    await stack.settled(accountId);
    expect(members(lists[0])).toEqual(new Set(['unnamed@example.com']));
    const history = (await stack.admin('GET', '/v1/users/851/memberships')).body.memberships[0].history;
    expect(history.map((h: { outcome: string; reason: string | null }) => [h.outcome, h.reason])).toEqual([
      ['delivered', null],
      ['failed', 'unattributed failure'],
    ]);
  });

  it('sends a lone change on an idle system within 2 s', async () => {
    const { accountId, apiKey, lists } = newAccount();
    await stack.send(membershipMessage('lone-0', 1, [], { accountId, apiKey }));
    const started = Date.now();
    await stack.send(
      membershipMessage('lone-1', 1000, [{ mpid: '901', email: 'lone@example.com', audiences: [{ audienceId: 1, listId: lists[0], action: 'add' }] }], {
        accountId,
        apiKey,
      }),
    );
    await waitFor(async () => members(lists[0]).has('lone@example.com'), 5000, 20);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('serves Prometheus metrics on the API (admin token only) and the worker (loopback)', async () => {
    expect((await fetch(`${stack.apiUrl}/metrics`)).status).toBe(401);
    expect((await fetch(`${stack.apiUrl}/metrics`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status).toBe(401);
    const api = await stack.metrics();
    expect(api).toMatch(/audience_bridge_pending_changes \d+/);
    expect(api).toMatch(/audience_bridge_mparticle_messages_total\{type="audience_membership_change_request",status="200"\} \d+/);
    const worker = await (await fetch(`http://127.0.0.1:${stack.workerPorts[0]}/metrics`)).text();
    // Loopback only by default (WORKER_HOST): the machine's other addresses do not answer.
    const external = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && !i.internal && i.family === 'IPv4');
    if (external) await expect(fetch(`http://${external.address}:${stack.workerPorts[0]}/metrics`)).rejects.toThrow();
    expect(worker).toMatch(/audience_bridge_iterable_calls_total\{action="subscribe",status="200"\} \d+/);
    expect(worker).toMatch(/audience_bridge_iterable_batch_size_bucket/);
    expect(worker).toMatch(/audience_bridge_queue_depth \d+/);
    expect(worker).toMatch(/audience_bridge_db_deadlocks_total 0\n/);
    expect(api).toMatch(/audience_bridge_db_lock_waits \d+/);
    expect(api).toMatch(/audience_bridge_oldest_pending_seconds [\d.]+/);
  });
});
