import { randomUUID } from 'node:crypto';
import { RunningFakeIterable, startFakeIterable } from '@audience-bridge/fake-iterable';
import { JsonBody, membershipMessage, Stack, startStack, waitFor } from '@audience-bridge/harness';
import { DRIVERS } from '@audience-bridge/persistence';

/** DRIFT_SETTLE_MS of the stack: changes delivered less than this before a read are left out. */
const SETTLE_MS = 3000;

// Drift checks end to end on both drivers: the API, a worker, Redis and the fake Iterable (getUsers with its
// 5 reads per minute per project, operator edits behind our back, delayed visibility).
describe.each(DRIVERS)('drift checks on %s (API, worker, fake Iterable getUsers)', (driver) => {
  let fake: RunningFakeIterable;
  let stack: Stack;
  let nextAccount = 700;

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
      DRIFT_SETTLE_MS: String(SETTLE_MS),
      DRIFT_CHECK_CONCURRENCY: '4',
    });
    await stack.startWorker();
  });
  afterAll(async () => {
    await stack.stop();
    await fake.close();
  });
  afterEach(() => {
    fake.state.setFaults({});
    fake.state.setConfig({ membershipVisibilityDelayMs: 0 });
  });

  interface Account {
    accountId: number;
    apiKey: string;
    lists: number[];
  }

  /** A hybrid Iterable project with `lists` lists, one mParticle audience per list. */
  function newAccount(lists = 1): Account {
    const accountId = nextAccount++;
    const apiKey = `drift-key-${randomUUID()}`;
    const project = fake.state.createProject({ apiKey, type: 'hybrid', dataCenter: 'US' });
    return { accountId, apiKey, lists: Array.from({ length: lists }, (_, i) => fake.state.createList(project, `a${accountId}-${i}`).id) };
  }

  const email = (a: Account, i: number) => `user${i}.a${a.accountId}@example.com`;

  /** Sends one message per change set: `users` (indexes) added to or deleted from every list of the account. */
  async function send(a: Account, users: number[], action: 'add' | 'delete', timestampMs = Date.now()): Promise<void> {
    for (let i = 0; i < users.length; i += 50) {
      const profiles = users.slice(i, i + 50).map((u) => ({
        mpid: String(a.accountId * 100_000 + u),
        email: email(a, u),
        customerId: `c-${a.accountId}-${u}`,
        audiences: a.lists.map((listId, k) => ({ audienceId: a.accountId * 10 + k, listId, action })),
      }));
      const res = await stack.send(membershipMessage(`drift-${randomUUID()}`, timestampMs + i, profiles, { accountId: a.accountId, apiKey: a.apiKey }));
      expect(res.status).toBe(200);
    }
  }

  /** Users delivered, then older than the settle window. */
  async function delivered(a: Account, users: number): Promise<void> {
    await send(
      a,
      Array.from({ length: users }, (_, i) => i),
      'add',
      Date.now() - 60_000,
    );
    await stack.settled(a.accountId, 30_000);
    await new Promise((r) => setTimeout(r, SETTLE_MS + 200));
  }

  const members = (listId: number) => (fake.state.members(listId) ?? []).map((m) => m.email).sort();
  const path = (a: Account, listId = a.lists[0]) => `/v1/accounts/${a.accountId}/lists/${listId}/drift-check`;

  /** Starts a check and waits for its verdict. */
  async function check(a: Account, repair: boolean, listId = a.lists[0] as number, timeoutMs = 30_000, repairExtras?: 'ours' | 'all'): Promise<JsonBody> {
    const started = await stack.admin('POST', path(a, listId), { repair, ...(repairExtras ? { repairExtras } : {}) });
    expect(started.status).toBe(202);
    return finished(a, listId, started.body.id, timeoutMs);
  }

  async function finished(a: Account, listId: number, id: number, timeoutMs = 30_000): Promise<JsonBody> {
    let report: JsonBody;
    await waitFor(
      async () => {
        report = (await stack.admin('GET', path(a, listId))).body;
        return report.id === id && report.state !== 'running';
      },
      timeoutMs,
      200,
    );
    return report;
  }

  it('answers 401 without the token, 404 for an unknown account, a list the account does not feed, or no check yet, and 400 for a bad body', async () => {
    const a = newAccount();
    await delivered(a, 3);
    expect((await fetch(`${stack.apiUrl}${path(a)}`, { method: 'POST' })).status).toBe(401);
    expect((await stack.admin('GET', path(a))).status).toBe(404);
    expect((await stack.admin('POST', `/v1/accounts/999999/lists/${a.lists[0]}/drift-check`, {})).status).toBe(404);
    const notFed = await stack.admin('POST', path(a, 123456789), {});
    expect(notFed.status).toBe(404);
    expect(notFed.body.message).toMatch(/no audience of account \d+ feeds list 123456789/);
    expect((await stack.admin('POST', path(a), { repair: 'yes' })).status).toBe(400);
    expect((await stack.admin('POST', path(a), { repair: false, extra: 1 })).status).toBe(400);
    const badExtras = await stack.admin('POST', path(a), { repair: true, repairExtras: 'mine' });
    expect(badExtras.status).toBe(400);
    expect(JSON.stringify(badExtras.body)).toContain('repairExtras must be \\"ours\\" or \\"all\\"');
    expect((await stack.admin('GET', path(a))).status).toBe(404);
    expect((await stack.admin('GET', `/v1/accounts/${a.accountId}/lists/abc/drift-check`)).status).toBe(400);

    // The answers are in OpenAPI.
    const doc = (await (await fetch(`${stack.apiUrl}/docs-json`)).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }> }>>;
    };
    const schema = (p: string, method: string, status: string) => doc.paths[p]?.[method]?.responses[status]?.content?.['application/json']?.schema.$ref;
    const check = '/v1/accounts/{accountId}/lists/{listId}/drift-check';
    expect(schema(check, 'post', '202')).toBe('#/components/schemas/DriftReportDto');
    expect(schema(check, 'get', '200')).toBe('#/components/schemas/DriftReportDto');
    expect(schema('/v1/accounts/{accountId}/drift-checks', 'get', '200')).toBe('#/components/schemas/DriftReportsDto');
    expect(schema('/v1/accounts/{accountId}/drift-settings', 'get', '200')).toBe('#/components/schemas/DriftSettingsDto');
    expect(schema('/v1/accounts/{accountId}/drift-settings', 'put', '200')).toBe('#/components/schemas/DriftSettingsDto');
  });

  it('reports strangers added and members removed by hand with exact counts, and report-only changes nothing', async () => {
    const a = newAccount();
    await delivered(a, 60);
    const edit = await fetch(`${fake.url}/_fake/lists/${a.lists[0]}/operator-edit`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        add: [
          { email: 'stranger.b@example.org' },
          { email: 'stranger.a@example.org' },
          { email: 'Stranger.C@example.org' },
          { email: 'stranger.d@example.org' },
        ],
        remove: [{ email: email(a, 7) }, { email: email(a, 42) }],
      }),
    });
    expect(await edit.json()).toEqual({ added: 4, removed: 2, created: 4 });
    const before = members(a.lists[0] as number);
    const calls = (await stack.admin('GET', `/v1/deliveries?accountId=${a.accountId}&limit=500`)).body.items.length;

    const started = await stack.admin('POST', path(a), { repair: false });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({
      state: 'running',
      repair: false,
      trigger: 'api',
      identifier: 'email',
      accountId: a.accountId,
      listId: a.lists[0],
      settleMs: SETTLE_MS,
    });
    const report = await finished(a, a.lists[0] as number, started.body.id);
    expect(report).toMatchObject({
      state: 'done',
      missing: 2,
      extra: 4,
      repaired: 0,
      leftOut: 0,
      refused: 0,
      iterableMembers: 62,
      desiredMembers: 60,
      error: null,
      phase: null,
      missingSample: [email(a, 42), email(a, 7)].sort(),
      extraSample: ['stranger.a@example.org', 'stranger.b@example.org', 'stranger.c@example.org', 'stranger.d@example.org'],
    });
    expect(Date.parse(report.checkedAt)).toBeGreaterThanOrEqual(Date.parse(report.requestedAt));
    expect(Date.parse(report.finishedAt)).toBeGreaterThanOrEqual(Date.parse(report.checkedAt));

    // Report only: Iterable's list, the audit and the pending changes are as they were.
    await new Promise((r) => setTimeout(r, 1000));
    expect(members(a.lists[0] as number)).toEqual(before);
    expect((await stack.admin('GET', `/v1/deliveries?accountId=${a.accountId}&limit=500`)).body.items).toHaveLength(calls);
    expect((await stack.admin('GET', '/v1/stats')).body.pending).toBe(0);
    const listed = (await stack.admin('GET', `/v1/accounts/${a.accountId}/drift-checks`)).body.items;
    expect(listed.map((r: { id: number }) => r.id)).toEqual([report.id]);

    const metrics = await (await fetch(`http://127.0.0.1:${stack.workerPorts[0]}/metrics`)).text();
    expect(metrics).toMatch(/audience_bridge_drift_checks_total\{outcome="done",trigger="api"\} [1-9]/);
    expect(metrics).toMatch(new RegExp(`audience_bridge_drift_members\\{list_id="${a.lists[0]}",kind="extra"\\} 4\\b`));
    expect(metrics).toMatch(new RegExp(`audience_bridge_drift_members\\{list_id="${a.lists[0]}",kind="missing"\\} 2\\b`));
  });

  it('repairs: the list ends exact, every repair call is in the audit with the reason "drift repair", and a new check finds nothing', async () => {
    const a = newAccount();
    await delivered(a, 40);
    await send(a, [3, 4], 'delete', Date.now() - 30_000);
    await stack.settled(a.accountId);
    await new Promise((r) => setTimeout(r, SETTLE_MS + 200));
    const expected = members(a.lists[0] as number);
    expect(expected).toHaveLength(38);
    fake.state.operatorEdit(a.lists[0] as number, {
      add: [{ email: 'intruder@example.org' }, { email: email(a, 3) }],
      remove: [{ email: email(a, 10) }, { email: email(a, 11) }, { email: email(a, 12) }],
    });

    // By default (repairExtras "ours") the stranger would stay; asked for all, it goes too.
    const report = await check(a, true, a.lists[0] as number, 30_000, 'all');
    expect(report).toMatchObject({ state: 'done', repair: true, missing: 3, extra: 2, repaired: 5, repairExtras: 'all', extraKept: 0 });
    await stack.settled(a.accountId);
    expect(members(a.lists[0] as number)).toEqual(expected);

    const calls = (
      await stack.admin('GET', `/v1/deliveries?accountId=${a.accountId}&listId=${a.lists[0]}&from=${encodeURIComponent(report.checkedAt)}&limit=50`)
    ).body.items as { id: string; action: string }[];
    expect(calls.map((c) => c.action).sort()).toEqual(['subscribe', 'unsubscribe']);
    const verdicts = (
      await Promise.all(
        calls.map(
          async (c) =>
            (await stack.admin('GET', `/v1/deliveries/${c.id}`)).body.verdicts as { email: string; action: string; outcome: string; reason: string }[],
        ),
      )
    ).flat();
    expect(verdicts.map((v) => [v.email, v.action, v.outcome, v.reason]).sort()).toEqual(
      [
        [email(a, 10), 'add', 'delivered', 'drift repair'],
        [email(a, 11), 'add', 'delivered', 'drift repair'],
        [email(a, 12), 'add', 'delivered', 'drift repair'],
        [email(a, 3), 'delete', 'delivered', 'drift repair'],
        ['intruder@example.org', 'delete', 'delivered', 'drift repair'],
      ].sort(),
    );
    await new Promise((r) => setTimeout(r, SETTLE_MS + 200));
    expect(await check(a, false)).toMatchObject({ state: 'done', missing: 0, extra: 0, leftOut: 0, iterableMembers: 38, desiredMembers: 38 });
  });

  it('does not call changes in flight drift: pending (Iterable failing), delivered moments ago (reads lag writes)', async () => {
    const a = newAccount();
    await delivered(a, 30);
    // Iterable's list reads lag its writes (by a little less than the settle window): adds and deletes delivered just now are not visible yet.
    fake.state.setConfig({ membershipVisibilityDelayMs: SETTLE_MS - 200 });
    await send(a, [30, 31, 32, 33], 'add');
    await send(a, [0, 1, 2], 'delete');
    await stack.settled(a.accountId);
    // And two changes still pending: Iterable answers 503 to every call carrying them, so they wait (backoff).
    fake.state.setFaults({ forced: [{ path: '/api/lists/subscribe', bodyContains: email(a, 34), status: 503, times: 1000 }] });
    await send(a, [34], 'add');
    await waitFor(async () => fake.state.requests.some((r) => r.status === 503 && JSON.stringify(r.body).includes(email(a, 34))), 10_000, 50);

    const report = await check(a, true);
    // Left out: the pending add, and those of the 7 changes Iterable's read did not show yet (all of them, unless the read came late).
    expect(report).toMatchObject({ state: 'done', missing: 0, extra: 0, repaired: 0, desiredMembers: 32 });
    expect(report.leftOut).toBeGreaterThanOrEqual(1);
    expect(report.leftOut).toBeLessThanOrEqual(8);
    // Once the changes have landed and the window has passed: no drift, nothing left out.
    fake.state.setFaults({});
    await stack.settled(a.accountId, 30_000);
    await new Promise((r) => setTimeout(r, SETTLE_MS + 200));
    expect(await check(a, false)).toMatchObject({ state: 'done', missing: 0, extra: 0, leftOut: 0, desiredMembers: 32, iterableMembers: 32 });
  });

  it('runs on an account schedule (off by default) and keeps the settings', async () => {
    const a = newAccount(2);
    await delivered(a, 5);
    const settings = `/v1/accounts/${a.accountId}/drift-settings`;
    expect((await stack.admin('GET', settings)).body).toEqual({
      accountId: a.accountId,
      identifier: 'email',
      scheduleHours: null,
      scheduleRepair: false,
      repairExtras: 'ours',
      lastScheduledAt: null,
    });
    expect((await stack.admin('PUT', settings, { scheduleHours: 0 })).status).toBe(400);
    expect((await stack.admin('PUT', settings, { repairExtras: 'some' })).status).toBe(400);
    expect((await stack.admin('PUT', settings, { identifier: 'phone' })).status).toBe(400);
    expect((await stack.admin('GET', '/v1/accounts/999999/drift-settings')).status).toBe(404);
    const put = await stack.admin('PUT', settings, { scheduleHours: 6, scheduleRepair: true });
    expect(put.body).toMatchObject({ scheduleHours: 6, scheduleRepair: true, identifier: 'email', lastScheduledAt: expect.any(String) });
    fake.state.operatorEdit(a.lists[1] as number, { remove: [{ email: email(a, 2) }] });
    // Six hours later (as far as the schedule knows): every list of the account is checked, and repaired.
    await stack.dataSource.query(
      `UPDATE drift_settings SET last_scheduled_at_ms = last_scheduled_at_ms - ${6 * 3_600_000 + 1000} WHERE account_id = ${a.accountId}`,
    );
    let reports: JsonBody[] = [];
    await waitFor(
      async () => {
        reports = (await stack.admin('GET', `/v1/accounts/${a.accountId}/drift-checks`)).body.items;
        return reports.length === 2 && reports.every((r) => r.state === 'done');
      },
      30_000,
      250,
    );
    expect(reports.map((r) => [r.listId, r.trigger, r.repair, r.missing, r.repaired])).toEqual([
      [a.lists[0], 'schedule', true, 0, 0],
      [a.lists[1], 'schedule', true, 1, 1],
    ]);
    await stack.settled(a.accountId);
    expect(members(a.lists[1] as number)).toHaveLength(5);
    expect((await stack.admin('PUT', settings, { scheduleHours: null })).body).toMatchObject({ scheduleHours: null, lastScheduledAt: null });
  });

  it("holds Iterable's 5 reads per minute with seven lists checked at once: the rest wait their turn, and delivery is not held up", async () => {
    const a = newAccount(7);
    await delivered(a, 4);
    // Someone else used the project's budget a moment ago: Iterable answers the first read 429 with Retry-After.
    fake.state.setFaults({ forced: [{ path: '/api/lists/getUsers', apiKey: a.apiKey, status: 429, retryAfterSeconds: 2 }] });
    const started = Date.now();
    const ids = await Promise.all(a.lists.map(async (listId) => (await stack.admin('POST', path(a, listId), { repair: false })).body.id as number));
    const reads = () => fake.state.requests.filter((r) => r.apiKey === a.apiKey && r.apiPath === '/api/lists/getUsers');
    // The 429, then four reads: our budget counts the refused read too, so the rest wait for its minute to pass.
    await waitFor(async () => reads().length === 5 && reads().every((r) => r.status !== null), 20_000, 100);
    await new Promise((r) => setTimeout(r, 1000));
    expect(reads()).toHaveLength(5);
    const waiting = await Promise.all(a.lists.map(async (listId) => (await stack.admin('GET', path(a, listId))).body));
    expect(waiting.filter((r) => r.state === 'running').map((r) => r.phase)).toContain('waiting for the read budget');
    // While checks wait for the budget, a change to one of the lists goes out at once.
    await send(a, [99], 'add');
    await waitFor(async () => members(a.lists[6] as number).includes(email(a, 99)), 5000, 50);
    expect(Date.now() - started).toBeLessThan(30_000);

    const reports = await Promise.all(a.lists.map((listId, i) => finished(a, listId, ids[i] as number, 120_000)));
    expect(reports.map((r) => r.state)).toEqual(Array(7).fill('done'));
    for (const r of reports) expect(r).toMatchObject({ missing: 0, extra: 0 });
    expect(reads().map((r) => r.status)).toEqual([429, 200, 200, 200, 200, 200, 200, 200]);
    const accepted = reads()
      .filter((r) => r.status === 200)
      .map((r) => r.timeMs);
    // Never more than 5 accepted reads in any minute, and never a 429 of the fake's own budget.
    for (let i = 5; i < accepted.length; i++) expect((accepted[i] as number) - (accepted[i - 5] as number)).toBeGreaterThanOrEqual(60_000);
    expect(Date.now() - started).toBeGreaterThan(60_000);
  }, 150_000);
});
