import { randomUUID } from 'node:crypto';
import { startFakeIterable, RunningFakeIterable } from '@audience-bridge/fake-iterable';
import { membershipMessage, Stack, startStack, waitFor } from '@audience-bridge/harness';
import { DRIVERS } from '@audience-bridge/persistence';

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

  function newAccount(settings: Record<string, string> = {}) {
    const accountId = nextAccount++;
    const apiKey = `lists-key-${randomUUID()}`;
    const project = fake.state.createProject({ apiKey, type: 'hybrid', dataCenter: 'US' });
    const subscribe = async (action: 'add' | 'update' | 'remove', audienceId: number, audienceName: string, listId?: number, timestampMs = Date.now()) =>
      stack.send({
        type: 'audience_subscription_request',
        id: randomUUID(),
        timestamp_ms: timestampMs,
        account: { account_id: accountId, account_settings: { apiKey, ...settings } },
        audience_id: audienceId,
        audience_name: audienceName,
        ...(listId === undefined ? {} : { audience_subscription_settings: { listId: String(listId) } }),
        action,
      });
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
    return { accountId, apiKey, project, subscribe, sendWithoutList, names };
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
});
