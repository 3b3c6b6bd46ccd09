import { randomUUID } from 'node:crypto';
import { startFakeIterable, RunningFakeIterable } from '@audience-bridge/fake-iterable';
import { AppProcess, freePort, INBOUND_TOKEN, JsonBody, membershipMessage, Stack, startApp, startStack, waitFor, waitForHttp } from '@audience-bridge/harness';
import { ApiKeyCipher, CreatedListsRepository, Database, DRIVERS } from '@audience-bridge/persistence';

// Lists created for audiences that name none: found by name first (so repeats never make two), the id
// returned to mParticle, changes held until the list exists, and deleted on disconnect only when asked.
describe.each(DRIVERS)('lists created for audiences without a listId on %s', (driver) => {
  let fake: RunningFakeIterable;
  let stack: Stack;
  let nextAccount = driver === 'sqlite' ? 900 : 950;

  beforeAll(async () => {
    fake = await startFakeIterable();
    stack = await startStack(driver, {
      ITERABLE_API_BASE_URL: fake.url,
      SWEEP_INTERVAL_MS: '300',
      DELIVERY_RETRY_BASE_MS: '100',
      ITERABLE_REQUESTS_PER_SECOND: '100',
    });
    await stack.startWorker();
  });
  afterAll(async () => {
    await stack.stop();
    await fake.close();
  });
  afterEach(() => fake.state.setFaults({}));

  /** An account with a project of its own, or (`sameProjectAs`) one whose key points at another account's project. */
  function newAccount(settings: Record<string, string> = {}, sameProjectAs?: { apiKey: string; project: ReturnType<typeof fake.state.createProject> }) {
    const accountId = nextAccount++;
    const apiKey = sameProjectAs?.apiKey ?? `lists-key-${randomUUID()}`;
    const project = sameProjectAs?.project ?? fake.state.createProject({ apiKey, type: 'hybrid', dataCenter: 'US' });
    const subscription = (action: 'add' | 'update' | 'remove', audienceId: number, audienceName: string, listId?: number, timestampMs = Date.now()) => ({
      type: 'audience_subscription_request',
      id: randomUUID(),
      timestamp_ms: timestampMs,
      account: { account_id: accountId, account_settings: { apiKey, ...settings } },
      audience_id: audienceId,
      audience_name: audienceName,
      ...(listId === undefined ? {} : { audience_subscription_settings: { listId: String(listId) } }),
      action,
    });
    const subscribe = async (action: 'add' | 'update' | 'remove', audienceId: number, audienceName: string, listId?: number, timestampMs = Date.now()) =>
      stack.send(subscription(action, audienceId, audienceName, listId, timestampMs));
    /** A membership message whose audience entries carry no listId (as before mParticle knows the list). */
    const sendWithoutList = async (audienceId: number, email: string) => {
      const message = membershipMessage(
        randomUUID(),
        Date.now(),
        [{ mpid: String(Math.floor(Math.random() * 1e9)), email, audiences: [{ audienceId, listId: 0, action: 'add' }] }],
        { accountId, apiKey },
      );
      for (const profile of message.user_profiles as { audiences: Record<string, unknown>[] }[])
        for (const a of profile.audiences) delete a['audience_subscription_settings'];
      const answer = await stack.send(message);
      expect(answer.status).toBe(200);
    };
    const names = () => fake.state.listsOf(project).map((l) => l.name);
    return { accountId, apiKey, project, subscription, subscribe, sendWithoutList, names };
  }

  it('creates one list named after the audience, however often the subscription comes, and delivers to it', async () => {
    const { accountId, project, subscribe, sendWithoutList, names } = newAccount();
    const first = await subscribe('add', 1, 'VIP buyers');
    const again = await subscribe('add', 1, 'VIP buyers');
    expect(first.status).toBe(200);
    const listId = Number(first.body.audience_subscription_settings.listId);
    expect(again.body.audience_subscription_settings).toEqual({ listId: String(listId) });
    expect(names()).toEqual(['VIP buyers']);
    expect(fake.state.findList(project, listId)?.name).toBe('VIP buyers');

    await sendWithoutList(1, 'vip@example.com');
    await stack.settled(accountId);
    expect(fake.state.members(listId)?.map((m) => m.email)).toEqual(['vip@example.com']);
  });

  it('finds a list of that name instead of creating one, and fills in the account naming rule', async () => {
    const { project, subscribe, names } = newAccount({ listNameTemplate: 'mP {audienceId} {audienceName}' });
    const existing = fake.state.createList(project, 'mP 2 Churn risk').id;
    const answer = await subscribe('add', 2, 'Churn risk');
    expect(answer.body.audience_subscription_settings).toEqual({ listId: String(existing) });
    expect(names()).toEqual(['mP 2 Churn risk']);
  });

  it('holds the changes while Iterable cannot create the list, and releases them when a later subscription can', async () => {
    const { accountId, subscribe, sendWithoutList, names } = newAccount();
    fake.state.setFaults({ forced: [{ path: '/api/lists', status: 503, times: 100 }] });
    const answer = await subscribe('add', 3, 'Late list', undefined, 1000);
    expect(answer.status).toBe(200);
    expect(answer.body.audience_subscription_settings).toBeUndefined();
    await sendWithoutList(3, 'held@example.com');
    const [held] = await stack.dataSource.query(`SELECT list_id FROM audience_connections WHERE account_id = ${accountId} AND audience_id = 3`);
    expect(held.list_id).toBeNull();

    fake.state.setFaults({});
    const retried = await subscribe('update', 3, 'Late list', undefined, 2000);
    const listId = Number(retried.body.audience_subscription_settings.listId);
    expect(names()).toEqual(['Late list']);
    await stack.settled(accountId);
    expect(fake.state.members(listId)?.map((m) => m.email)).toEqual(['held@example.com']);
  });

  it('on disconnect keeps the list by default, deletes a created one when asked, and never one the customer named', async () => {
    const keep = newAccount();
    const kept = Number((await keep.subscribe('add', 4, 'Kept')).body.audience_subscription_settings.listId);
    expect((await keep.subscribe('remove', 4, 'Kept', kept)).status).toBe(200);
    expect(keep.names()).toEqual(['Kept']);

    const drop = newAccount({ onAudienceRemove: 'delete' });
    const created = Number((await drop.subscribe('add', 5, 'Temporary')).body.audience_subscription_settings.listId);
    const named = fake.state.createList(drop.project, 'Our own list').id;
    await drop.subscribe('add', 6, 'Named by the customer', named);
    await drop.subscribe('remove', 5, 'Temporary', created);
    await drop.subscribe('remove', 6, 'Named by the customer', named);
    expect(drop.names()).toEqual(['Our own list']);
  });

  it('notices a list deleted by hand, and an operator recreates it and refills it from the stored state', async () => {
    const { accountId, project, subscribe, sendWithoutList } = newAccount();
    const listId = Number((await subscribe('add', 7, 'Deleted by hand')).body.audience_subscription_settings.listId);
    await sendWithoutList(7, 'one@example.com');
    await stack.settled(accountId);
    fake.state.deleteList(project, listId);

    await sendWithoutList(7, 'two@example.com');
    await waitFor(async () => (await stack.admin('GET', `/v1/accounts/${accountId}/audiences/7`)).body.status === 'suspended', 30_000);
    expect((await stack.admin('GET', `/v1/accounts/${accountId}/audiences/7`)).body).toMatchObject({
      status: 'suspended',
      suspendedReason: expect.stringMatching(/^unknown list/),
    });

    const recreated = await stack.admin('POST', `/v1/accounts/${accountId}/audiences/7/recreate-list`, {});
    expect(recreated.status).toBe(200);
    expect(recreated.body).toMatchObject({ status: 'active', listId: expect.any(Number) });
    const newListId = recreated.body.listId as number;
    expect(newListId).not.toBe(listId);
    expect(fake.state.findList(project, newListId)?.name).toBe(recreated.body.audienceName); // the audience's name as mParticle last sent it
    await waitFor(async () => (fake.state.members(newListId)?.length ?? 0) === 2, 20_000);
    expect(
      fake.state
        .members(newListId)
        ?.map((m) => m.email)
        .sort(),
    ).toEqual(['one@example.com', 'two@example.com']);
    expect((await stack.admin('POST', `/v1/accounts/${accountId}/audiences/99/recreate-list`, {})).status).toBe(404);
  });

  // Issue 22 §3: one list per audience, never someone else's.
  /** The claim table as the API sees it, and the project key of an account's API key there. */
  function claimsOf(apiKey: string) {
    const claims = new CreatedListsRepository(new Database(stack.dataSource), new ApiKeyCipher(stack.env['ENCRYPTION_KEY'] ?? ''));
    return { claims, key: claims.projectOf(apiKey, 'US') };
  }

  /** Runs `work` while every `operation` on created_lists fails (PostgreSQL: disk full, SQLSTATE 53100; SQLite: the write aborts). */
  async function whileRefused<T>(operation: 'INSERT' | 'UPDATE', work: () => Promise<T>): Promise<T> {
    if (driver === 'postgres') {
      await stack.dataSource.query(`CREATE FUNCTION refuse_claims() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'could not extend file' USING ERRCODE = '53100'; END $$`);
      await stack.dataSource.query(`CREATE TRIGGER refuse_claims BEFORE ${operation} ON created_lists FOR EACH ROW EXECUTE FUNCTION refuse_claims()`);
    } else {
      await stack.dataSource.query(`CREATE TRIGGER refuse_claims BEFORE ${operation} ON created_lists BEGIN SELECT RAISE(ABORT, 'no room'); END`);
    }
    try {
      return await work();
    } finally {
      await stack.dataSource.query(driver === 'postgres' ? `DROP TRIGGER refuse_claims ON created_lists` : `DROP TRIGGER refuse_claims`);
      if (driver === 'postgres') await stack.dataSource.query(`DROP FUNCTION refuse_claims()`);
    }
  }

  describe("one list per audience, never someone else's", () => {
    let secondApi: AppProcess | undefined;
    afterAll(async () => {
      await secondApi?.stop('SIGTERM');
    });

    it('creates one list for 10 identical subscriptions at once (Iterable slow, two API processes) and answers its id to each, and to a repeat', async () => {
      const port = await freePort();
      secondApi = startApp('api', { ...stack.env, PORT: String(port) });
      await waitForHttp(`http://127.0.0.1:${port}/health/live`, secondApi);
      const viaSecond = async (body: unknown) => {
        const res = await fetch(`http://127.0.0.1:${port}/v1/mparticle`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Token ${INBOUND_TOKEN}` },
          body: JSON.stringify(body),
        });
        return { status: res.status, body: (await res.json()) as JsonBody };
      };
      const { project, subscription, names } = newAccount();
      fake.state.setFaults({ slow: { delayMs: 300 } });
      const message = subscription('add', 31, 'Ten at once');
      const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? stack.send(message) : viaSecond(message))));
      expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
      const ids = new Set(answers.map((a) => a.body.audience_subscription_settings?.listId));
      expect([...ids]).toHaveLength(1);
      const [listId] = [...ids];
      expect(listId).toMatch(/^[1-9][0-9]*$/);
      expect(names()).toEqual(['Ten at once']);
      fake.state.setFaults({});
      expect((await stack.send(message)).body.audience_subscription_settings).toEqual({ listId });
      expect((await viaSecond(message)).body.audience_subscription_settings).toEqual({ listId });
      expect(fake.state.findList(project, Number(listId))?.name).toBe('Ten at once');
      expect(names()).toEqual(['Ten at once']);
    });

    it('waits for a claim another process holds for the audience, and takes over one whose holder died', async () => {
      const { accountId, apiKey, project, subscribe, names } = newAccount();
      const { claims, key } = claimsOf(apiKey);
      const owner = { accountId, audienceId: 41 };

      // Another process is asking Iterable right now: the subscription waits for its list id and answers it.
      const inFlight = await claims.claim(key, 'In flight', owner, { staleAfterMs: 30_000 });
      expect(inFlight.kind).toBe('held');
      const theirs = fake.state.createList(project, 'In flight').id;
      const waiting = subscribe('add', 41, 'In flight');
      await new Promise((resolve) => setTimeout(resolve, 500));
      await claims.settle(key, 'In flight', inFlight.kind === 'held' ? inFlight.holder : '', theirs, owner);
      expect((await waiting).body.audience_subscription_settings).toEqual({ listId: String(theirs) });

      // A process claimed the name a minute ago and died before it had a list: the claim is taken over.
      await claims.claim(key, 'Orphaned', { accountId, audienceId: 42 }, { staleAfterMs: 30_000, nowMs: Date.now() - 60_000 });
      const answer = await subscribe('add', 42, 'Orphaned');
      const listId = Number(answer.body.audience_subscription_settings.listId);
      expect(fake.state.findList(project, listId)?.name).toBe('Orphaned');
      expect(names().sort()).toEqual(['In flight', 'Orphaned']);
    });

    it('answers 503 while another subscription of the audience holds the claim past the answer budget, so mParticle sends it again', async () => {
      const { accountId, apiKey, project, subscribe, names } = newAccount();
      const { claims, key } = claimsOf(apiKey);
      const owner = { accountId, audienceId: 43 };
      // A subscription that claimed the name and then could not finish (storage went away under it): its claim
      // stays until stale. A 200 without a list would end mParticle's retries with none.
      const stuck = await claims.claim(key, 'Stuck', owner, { staleAfterMs: 30_000 });
      const refused = await subscribe('add', 43, 'Stuck');
      expect(refused.status).toBe(503);
      expect(refused.body.message).toMatch(/send the subscription again/);
      const held = await stack.dataSource.query(`SELECT suspended_reason FROM audience_connections WHERE account_id = ${accountId} AND audience_id = 43`);
      expect(held).toEqual([]);

      const listId = fake.state.createList(project, 'Stuck').id;
      await claims.settle(key, 'Stuck', stuck.kind === 'held' ? stuck.holder : '', listId, owner);
      const again = await subscribe('add', 43, 'Stuck');
      expect(again.status).toBe(200);
      expect(again.body.audience_subscription_settings).toEqual({ listId: String(listId) });
      expect(names()).toEqual(['Stuck']);
    });

    it('answers 5xx when storage fails while the list is found or created, and the subscription sent again gets the one list', async () => {
      const { accountId, subscribe, names } = newAccount();
      // The claim on the list name cannot be written (PostgreSQL: disk full; SQLite: the write aborted).
      const refused = await whileRefused('INSERT', () => subscribe('add', 44, 'No room'));
      expect(refused.status).toBe(driver === 'postgres' ? 503 : 500);
      expect(refused.body.audience_subscription_settings).toBeUndefined();
      const held = await stack.dataSource.query(`SELECT suspended_reason FROM audience_connections WHERE account_id = ${accountId} AND audience_id = 44`);
      expect(held).toEqual([]);

      const again = await subscribe('add', 44, 'No room');
      expect(again.status).toBe(200);
      expect(again.body.audience_subscription_settings.listId).toMatch(/^[1-9][0-9]*$/);
      expect(names()).toEqual(['No room']);
    });

    it('gives its claim back when storage fails after Iterable made the list, so the subscription sent again takes that list at once', async () => {
      const { accountId, project, subscribe, names } = newAccount();
      // Recording the list on the claim fails (PostgreSQL: disk full; SQLite: the write aborted); Iterable made it.
      const refused = await whileRefused('UPDATE', () => subscribe('add', 45, 'Given back'));
      expect(refused.status).toBe(driver === 'postgres' ? 503 : 500);
      expect(names()).toEqual(['Given back']);
      const made = fake.state.listsOf(project)[0]?.id;

      // Sent again: no wait on a claim left behind (5 s, then 503, until it is stale), the list made before is taken.
      const started = Date.now();
      const again = await subscribe('add', 45, 'Given back');
      expect(again.status).toBe(200);
      expect(Date.now() - started).toBeLessThan(3000);
      expect(again.body.audience_subscription_settings).toEqual({ listId: String(made) });
      expect(names()).toEqual(['Given back']);
      const [connection] = await stack.dataSource.query(`SELECT list_id FROM audience_connections WHERE account_id = ${accountId} AND audience_id = 45`);
      expect(Number(connection.list_id)).toBe(made);
    });

    it('gives two audiences of one name distinct lists, in one account and across accounts on one project', async () => {
      const first = newAccount();
      const a = Number((await first.subscribe('add', 32, 'Twins')).body.audience_subscription_settings.listId);
      const b = Number((await first.subscribe('add', 33, 'Twins')).body.audience_subscription_settings.listId);
      expect(a).not.toBe(b);
      expect(first.names().sort()).toEqual(['Twins', 'Twins (33)']);
      // Repeats keep each audience on its own list.
      expect((await first.subscribe('update', 33, 'Twins')).body.audience_subscription_settings).toEqual({ listId: String(b) });
      expect((await first.subscribe('update', 32, 'Twins')).body.audience_subscription_settings).toEqual({ listId: String(a) });

      // Two more accounts whose keys point at the same Iterable project, each with an audience 32 named 'Twins'.
      const second = newAccount({}, first);
      const third = newAccount({}, first);
      const c = Number((await second.subscribe('add', 32, 'Twins')).body.audience_subscription_settings.listId);
      const d = Number((await third.subscribe('add', 32, 'Twins')).body.audience_subscription_settings.listId);
      expect(new Set([a, b, c, d]).size).toBe(4);
      expect(fake.state.findList(first.project, c)?.name).toBe('Twins (32)');
      expect(fake.state.findList(first.project, d)?.name).toBe(`Twins (${third.accountId}-32)`);
    });

    it('answers a repeated subscription with the list it answered before, even once the first name is free again', async () => {
      const { subscription, subscribe } = newAccount();
      const first = Number((await subscribe('add', 46, 'Swap')).body.audience_subscription_settings.listId);
      const message = subscription('add', 45, 'Swap');
      const own = (await stack.send(message)).body.audience_subscription_settings;
      expect(own).not.toEqual({ listId: String(first) });
      await subscribe('remove', 46, 'Swap', first); // 'Swap' now feeds nobody
      expect((await stack.send(message)).body.audience_subscription_settings).toEqual(own);
    });

    it('does not take a list found by name in Iterable that another audience already feeds', async () => {
      const first = newAccount();
      const existing = fake.state.createList(first.project, 'Fed already').id;
      await first.subscribe('add', 34, 'Someone else', existing);
      const answer = await first.subscribe('add', 35, 'Fed already');
      const listId = Number(answer.body.audience_subscription_settings.listId);
      expect(listId).not.toBe(existing);
      expect(fake.state.findList(first.project, listId)?.name).toBe('Fed already (35)');
    });

    it('never deletes on disconnect a list another connection (of any account) still feeds, and says why without the key', async () => {
      const drop = newAccount({ onAudienceRemove: 'delete' });
      const other = newAccount({ onAudienceRemove: 'delete' }, drop);
      const shared = Number((await drop.subscribe('add', 36, 'Shared by hand')).body.audience_subscription_settings.listId);
      // Two more connections point at it by hand: one in the same account (of the same name), one in another account.
      await drop.subscribe('add', 37, 'Shared by hand', shared);
      await other.subscribe('add', 38, 'Other account', shared);

      await drop.subscribe('remove', 36, 'Shared by hand', shared);
      expect(drop.names()).toContain('Shared by hand');
      await other.subscribe('remove', 38, 'Other account', shared);
      expect(drop.names()).toContain('Shared by hand');
      const output = stack.api.output();
      const feeders = `account ${drop.accountId} audience 37, account ${other.accountId} audience 38`;
      expect(output).toMatch(new RegExp(`audience 36: Iterable list ${shared} kept: 2 other connection\\(s\\) still feed it \\(${feeders}\\)`));
      expect(output).toMatch(
        new RegExp(`audience 38: Iterable list ${shared} kept: 1 other connection\\(s\\) still feed it \\(account ${drop.accountId} audience 37\\)`),
      );
      expect(output).not.toContain(drop.apiKey);
      // The last one gone, the created list goes too (it bears the name the rule gives that audience).
      await drop.subscribe('remove', 37, 'Shared by hand', shared);
      expect(drop.names()).not.toContain('Shared by hand');
    });

    it("recreate-list follows the same rules: a name another audience's list has is refused, control and bidi characters are stripped", async () => {
      const { accountId, project, subscribe } = newAccount();
      const gone = Number((await subscribe('add', 43, 'Recreated')).body.audience_subscription_settings.listId);
      const taken = Number((await subscribe('add', 44, 'Taken')).body.audience_subscription_settings.listId);
      fake.state.deleteList(project, gone);
      const refused = await stack.admin('POST', `/v1/accounts/${accountId}/audiences/43/recreate-list`, { name: 'Taken' });
      expect(refused.status).toBe(409);
      expect((await stack.admin('GET', `/v1/accounts/${accountId}/audiences/43`)).body.listId).toBe(gone);
      const recreated = await stack.admin('POST', `/v1/accounts/${accountId}/audiences/43/recreate-list`, { name: '\u202eFresh\u200f' });
      expect(recreated.status).toBe(200);
      expect(recreated.body.listId).not.toBe(taken);
      expect(fake.state.findList(project, recreated.body.listId as number)?.name).toBe('Fresh');
      expect((await stack.admin('POST', `/v1/accounts/${accountId}/audiences/43/recreate-list`, { name: '\u2066\u0001' })).status).toBe(400);
    });

    it('strips control and bidi characters, never expands a placeholder inside an audience name, and holds an audience whose name is blank', async () => {
      const { accountId, project, subscribe, names } = newAccount({ listNameTemplate: '{accountId}: {audienceName}' });
      // (NUL is stripped from names too, libs/mparticle's unit tests; PostgreSQL cannot store it in the connection's name.)
      const named = await subscribe('add', 39, '\u202eVIP\u0007 {accountId}\u200f');
      expect(fake.state.findList(project, Number(named.body.audience_subscription_settings.listId))?.name).toBe(`${accountId}: VIP {accountId}`);

      const { subscribe: subscribeBlank, accountId: blankAccount, names: blankNames } = newAccount();
      const blank = await subscribeBlank('add', 40, '\u200f \u0001\u2066 ');
      expect(blank.status).toBe(200);
      expect(blank.body.audience_subscription_settings).toBeUndefined();
      expect(blankNames()).toEqual([]);
      const held = await stack.admin('GET', `/v1/accounts/${blankAccount}/audiences/40`);
      expect(held.body).toMatchObject({ listId: null, status: 'active', suspendedReason: expect.stringMatching(/name is blank/) });
      const connections = await stack.admin('GET', '/v1/connections');
      const row = connections.body.items.find((c: { accountId: number; audienceId: number }) => c.accountId === blankAccount && c.audienceId === 40);
      expect(row).toMatchObject({ status: 'held', listId: null, reason: expect.stringMatching(/name is blank/) });
      expect(names()).toHaveLength(1);
    });
  });
});
