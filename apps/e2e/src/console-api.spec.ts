import { DRIVERS } from '@audience-bridge/persistence';
import { ADMIN_TOKEN } from '@audience-bridge/harness';
import { ConsoleWorld, startConsoleWorld, userEmail } from './support/console-world';

// The admin API the operations console reads, against real traffic through the API, the worker and the fake
// Iterable; and the console's files served at `/` without taking any of the API's paths.
describe.each(DRIVERS)('operations console API on %s', (driver) => {
  let world: ConsoleWorld;
  beforeAll(async () => {
    world = await startConsoleWorld(driver);
  }, 120_000);
  afterAll(async () => {
    await world.stop();
  });
  const admin = (method: string, path: string, body?: unknown) => world.stack.admin(method, path, body);

  it('answers 401 without the admin token on every new endpoint', async () => {
    for (const path of ['/v1/summary', '/v1/connections', '/v1/users?email=a@example.com', '/v1/deliveries/00000000-0000-4000-8000-000000000000']) {
      expect((await fetch(`${world.stack.apiUrl}${path}`)).status).toBe(401);
    }
  });

  it('summarizes the last hour: figures equal to the audit log, calls per second against the configured limit', async () => {
    const { status, body } = await admin('GET', '/v1/summary?window=hour');
    expect(status).toBe(200);
    expect(body.buckets).toHaveLength(60);
    const calls = (await admin('GET', '/v1/deliveries?limit=500')).body.items as {
      action: string;
      successCount: number;
      dryRun: boolean;
      httpStatus: number | null;
    }[];
    const sum = (action: string) => calls.filter((c) => c.action === action && !c.dryRun).reduce((n, c) => n + c.successCount, 0);
    expect(body.totals).toMatchObject({ adds: sum('subscribe'), removes: sum('unsubscribe'), calls: calls.filter((c) => !c.dryRun).length });
    expect(body.totals.adds).toBeGreaterThanOrEqual(47);
    expect(body.totals.removes).toBeGreaterThanOrEqual(10);
    expect(body.totals.failed).toBeGreaterThanOrEqual(3 + 5); // forgotten users, and the unknown list's call
    expect(body.buckets.reduce((n: number, b: { adds: number }) => n + b.adds, 0)).toBe(body.totals.adds);
    expect(body.rate).toMatchObject({ limitPerSecond: 25, peakAccountId: expect.any(Number) });
    expect(body.rate.peakPerSecond).toBeGreaterThan(0);
    expect(body).toMatchObject({ pending: 5, heldWithoutList: 4, failingLists: expect.any(Number) });
    expect(body.oldestPendingAgeMs).toBeGreaterThan(0);
    expect((await admin('GET', '/v1/summary?window=day')).body.buckets).toHaveLength(96);
    expect((await admin('GET', '/v1/summary?window=week')).status).toBe(400);
  });

  it('lists the connections with status, reason, 24 h figures, waiting, held and refused members', async () => {
    const { status, body } = await admin('GET', '/v1/connections');
    expect(status).toBe(200);
    const row = (audienceId: number) => body.items.find((r: { audienceId: number }) => r.audienceId === audienceId);
    expect(body.items).toHaveLength(4);
    expect(row(20010)).toMatchObject({
      accountId: 2001,
      audienceName: 'VIP',
      listId: world.healthy.lists.vip,
      status: 'active',
      listMembers: 27,
      failedMembers: 3,
      pending: 0,
      held: 0,
      failing: null,
    });
    expect(row(20010).last24h).toEqual({ adds: 27, removes: 10, failed: 3 });
    expect(Date.parse(row(20010).lastSuccessAt)).toBeGreaterThan(Date.now() - 120_000);
    expect(row(20011)).toMatchObject({ status: 'active', listMembers: 20, last24h: { adds: 20, removes: 0, failed: 0 } });
    expect(row(20020)).toMatchObject({
      status: 'suspended',
      suspendedBy: 'connection',
      reason: expect.stringMatching(/unknown list/),
      pending: 5,
      lastSuccessAt: null,
    });
    expect(row(20030)).toMatchObject({ status: 'held', listId: null, held: 4, reason: 'the audience names no Iterable list' });
  });

  it('opens a call with its per-user verdicts, and answers 404 for an unknown id and 400 for a malformed one', async () => {
    const partial = (await admin('GET', `/v1/deliveries?status=partial&accountId=${world.healthy.accountId}`)).body.items;
    expect(partial.length).toBeGreaterThan(0);
    const { status, body } = await admin('GET', `/v1/deliveries/${partial[0].id}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      id: partial[0].id,
      accountId: 2001,
      action: 'subscribe',
      httpStatus: 200,
      dryRun: false,
      errorSample: null,
      verdictsTruncated: false,
    });
    expect(body.verdicts).toHaveLength(body.subscriberCount);
    expect(body.failureReasons).toEqual([{ reason: expect.stringMatching(/forgotten/), count: expect.any(Number) }]);
    expect(
      body.verdicts
        .filter((v: { outcome: string }) => v.outcome === 'failed')
        .map((v: { email: string }) => v.email)
        .every((e: string) => world.forgotten.includes(e)),
    ).toBe(true);

    const failed = (await admin('GET', `/v1/deliveries?status=failed&accountId=${world.suspended.accountId}`)).body.items;
    const detail = (await admin('GET', `/v1/deliveries/${failed[0].id}`)).body;
    expect(detail).toMatchObject({ httpStatus: 400, errorSample: expect.any(String) });
    expect(detail.errorSample).not.toContain(world.suspended.apiKey);
    expect((await admin('GET', '/v1/deliveries/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await admin('GET', '/v1/deliveries/not-a-uuid')).status).toBe(400);
  });

  it('finds a user by email (any case), by customer id and by mpid, with desired state, what Iterable has and the history', async () => {
    const byEmail = await admin('GET', `/v1/users?email=${encodeURIComponent(userEmail(4).toUpperCase())}`);
    expect(byEmail.status).toBe(200);
    expect(byEmail.body.by).toBe('email');
    expect(byEmail.body.memberships.map((m: { audienceId: number; state: string }) => [m.audienceId, m.state])).toEqual([
      [20010, 'subscribed'],
      [20011, 'subscribed'],
    ]);
    expect(byEmail.body.memberships[0]).toMatchObject({
      mpid: '2001004',
      desired: { action: 'add', email: userEmail(4), userId: 'cust-4' },
      iterable: { state: 'subscribed', email: userEmail(4) },
    });
    expect(byEmail.body.memberships[0].history[0]).toMatchObject({ outcome: 'delivered', action: 'add', listId: world.healthy.lists.vip });

    const forgotten = (await admin('GET', `/v1/users?customerId=cust-3`)).body.memberships;
    expect(forgotten).toHaveLength(1);
    expect(forgotten[0]).toMatchObject({ state: 'failed', iterable: { state: 'failed', reason: expect.stringMatching(/forgotten/) } });
    expect((await admin('GET', '/v1/users?mpid=2001035')).body.memberships[0]).toMatchObject({ state: 'unsubscribed', desired: { action: 'delete' } });
    expect((await admin('GET', '/v1/users?email=nobody@example.com')).body.memberships).toEqual([]);
    expect((await admin('GET', '/v1/users')).status).toBe(400);
    expect((await admin('GET', '/v1/users?email=a@example.com&mpid=1')).status).toBe(400);
  });

  it('previews a replay without changing anything, then replays and the refused members clear', async () => {
    const filter = { accountId: world.healthy.accountId, audienceId: 20010 };
    const inbox = async () => Number((await world.stack.dataSource.query('SELECT COUNT(*) AS n FROM sync_inbox'))[0].n);
    const before = await inbox();
    const preview = await admin('POST', '/v1/replay', { ...filter, preview: true });
    expect(preview).toMatchObject({ status: 200, body: { requeued: 3, lists: 1, listIds: [world.healthy.lists.vip], preview: true } });
    expect(await inbox()).toBe(before);

    // Iterable forgets them no more (the operator's fix), then the replay sends them again.
    const project = world.fake.state.projectFor(world.healthy.apiKey);
    for (const email of world.forgotten) project.forgottenEmails.delete(email);
    expect((await admin('POST', '/v1/replay', filter)).body).toEqual({ requeued: 3, lists: 1 });
    await world.stack.settled(world.healthy.accountId);
    const members = new Set((world.fake.state.members(world.healthy.lists.vip) ?? []).map((m) => m.email));
    for (const email of world.forgotten) expect(members.has(email)).toBe(true);
    expect((await admin('POST', '/v1/replay', { ...filter, preview: true })).body.requeued).toBe(0);
  }, 60_000);

  it('serves the console at / and its client routes, and leaves /v1, /health, /docs and /metrics to the API', async () => {
    const url = world.stack.apiUrl;
    for (const path of ['/', '/connections', '/deliveries', '/users']) {
      const res = await fetch(`${url}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/text\/html/);
      expect(res.headers.get('content-security-policy')).toMatch(/default-src 'self'.*connect-src 'self'/);
      expect(await res.text()).toMatch(/<div id="root">/);
    }
    const html = await (await fetch(`${url}/`)).text();
    const asset = html.match(/src="(\/assets\/[^"]+\.js)"/)?.[1];
    expect(asset).toBeDefined();
    const js = await fetch(`${url}${asset}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('cache-control')).toMatch(/immutable/);
    expect(html).not.toMatch(/https?:\/\//);

    const unknownApi = await fetch(`${url}/v1/not-a-route`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(unknownApi.status).toBe(404);
    expect(unknownApi.headers.get('content-type')).toMatch(/json/);
    expect((await fetch(`${url}/assets/missing.js`)).status).toBe(404);
    // Only the console's pages fall back to index.html: any other path is the API's JSON 404.
    const unknownPage = await fetch(`${url}/no-such-page`);
    expect(unknownPage.status).toBe(404);
    expect(unknownPage.headers.get('content-type')).toMatch(/json/);
    expect((await fetch(`${url}/deliveries/`)).status).toBe(200);
    expect((await fetch(`${url}/health/live`)).headers.get('content-type')).toMatch(/json/);
    expect((await fetch(`${url}/metrics`)).status).toBe(401);
    expect(await (await fetch(`${url}/docs`)).text()).toMatch(/swagger/i);
  });

  it('documents the new answers in OpenAPI', async () => {
    const doc = (await (await fetch(`${world.stack.apiUrl}/docs-json`)).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }> }>>;
      components: { schemas: Record<string, unknown> };
    };
    const okSchema = (path: string, method = 'get') => doc.paths[path]?.[method]?.responses['200']?.content?.['application/json']?.schema.$ref;
    expect(okSchema('/v1/summary')).toBe('#/components/schemas/SummaryDto');
    expect(okSchema('/v1/connections')).toBe('#/components/schemas/ConnectionsDto');
    expect(okSchema('/v1/deliveries/{id}')).toBe('#/components/schemas/DeliveryDetailDto');
    expect(okSchema('/v1/users')).toBe('#/components/schemas/UserLookupDto');
    expect(okSchema('/v1/replay', 'post')).toBe('#/components/schemas/ReplayResultDto');
    for (const name of ['SummaryBucketDto', 'CallRateDto', 'ConnectionRowDto', 'CallVerdictDto', 'UserMembershipDto'])
      expect(doc.components.schemas[name]).toBeDefined();
  });
});
