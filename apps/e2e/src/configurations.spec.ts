import { randomUUID } from 'node:crypto';
import { startFakeIterable, RunningFakeIterable } from '@audience-bridge/fake-iterable';
import { membershipMessage, Stack, startStack, waitFor } from '@audience-bridge/harness';
import { DRIVERS } from '@audience-bridge/persistence';

type Profile = Parameters<typeof membershipMessage>[2][number];

// Lists stay exact in the configurations real accounts have: audiences sharing a list, users sharing an
// email, list ids and identities that change, settings that change (and old messages that come late), and
// messages only partly usable. Lists are compared as (email, userId) pairs, the way Iterable keeps users.
describe.each(DRIVERS)('exact lists in real configurations on %s', (driver) => {
  let fake: RunningFakeIterable;
  let stack: Stack;
  let nextAccount = 300;

  beforeAll(async () => {
    fake = await startFakeIterable();
    stack = await startStack(driver, {
      ITERABLE_API_BASE_URL: fake.url,
      SWEEP_INTERVAL_MS: '300',
      DELIVERY_RETRY_BASE_MS: '100',
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

  /** A new Iterable project with `lists` lists, and a new mParticle account for it. */
  function newAccount(type: 'hybrid' | 'email' = 'email', lists = 3) {
    const accountId = nextAccount++;
    const apiKey = `it-key-${randomUUID()}`;
    const project = fake.state.createProject({ apiKey, type, dataCenter: 'US' });
    const ids = Array.from({ length: lists }, (_, i) => fake.state.createList(project, `a${accountId}-${i}`).id);
    let clock = 1_000;
    const send = async (
      profiles: Profile[],
      options: { userIdField?: 'customerId' | 'mpid'; apiKey?: string; timestampMs?: number; accountId?: number } = {},
    ) => {
      clock += 1000;
      const message = membershipMessage(randomUUID(), options.timestampMs ?? clock, profiles, {
        accountId: options.accountId ?? accountId,
        apiKey: options.apiKey ?? apiKey,
        userIdField: options.userIdField ?? 'customerId',
      });
      const answer = await stack.send(message);
      expect(answer.status).toBe(200);
      return answer.body;
    };
    return { accountId, apiKey, project, lists: ids, send };
  }
  /** The list as Iterable has it: `email|userId` per member, sorted. */
  const pairs = (listId: number) => (fake.state.members(listId) ?? []).map((m) => `${m.email ?? ''}|${m.userId ?? ''}`).sort();
  const add = (listId: number, audienceId = 1) => ({ audienceId, listId, action: 'add' as const });
  const del = (listId: number, audienceId = 1) => ({ audienceId, listId, action: 'delete' as const });

  describe('shared lists', () => {
    it('keeps a user added by one audience and deleted by another that maps to the same list', async () => {
      const { accountId, lists, send } = newAccount();
      await send([{ mpid: '1', email: 'both@example.com', customerId: 'c1', audiences: [add(lists[0], 1)] }]);
      await send([{ mpid: '1', email: 'both@example.com', customerId: 'c1', audiences: [del(lists[0], 2)] }]);
      await stack.settled(accountId);
      expect(pairs(lists[0])).toEqual(['both@example.com|c1']);
      // Equal timestamps, two audiences in one message: still on the list while one of them says add.
      await send([{ mpid: '2', email: 'same@example.com', customerId: 'c2', audiences: [add(lists[0], 1), del(lists[0], 2)] }]);
      await stack.settled(accountId);
      expect(pairs(lists[0])).toEqual(['both@example.com|c1', 'same@example.com|c2']);
      await send([{ mpid: '1', email: 'both@example.com', customerId: 'c1', audiences: [del(lists[0], 1)] }]);
      await stack.settled(accountId);
      expect(pairs(lists[0])).toEqual(['same@example.com|c2']);
    });

    it('keeps a shared email on the list while another user with it is still in the audience', async () => {
      const { accountId, lists, send } = newAccount();
      await send([
        { mpid: '11', email: 'family@example.com', customerId: 'c11', audiences: [add(lists[0])] },
        { mpid: '12', email: 'family@example.com', customerId: 'c12', audiences: [add(lists[0])] },
      ]);
      await send([{ mpid: '12', email: 'family@example.com', customerId: 'c12', audiences: [del(lists[0])] }]);
      await stack.settled(accountId);
      expect(pairs(lists[0]).map((p) => p.split('|')[0])).toEqual(['family@example.com']);
      await send([{ mpid: '11', email: 'family@example.com', customerId: 'c11', audiences: [del(lists[0])] }]);
      await stack.settled(accountId);
      expect(pairs(lists[0])).toEqual([]);
    });

    it('treats one list fed by two accounts of the same project as one list with one writer', async () => {
      const a = newAccount();
      const otherAccount = nextAccount++;
      fake.state.setFaults({ slow: { delayMs: 150, fraction: 1 } });
      await a.send([{ mpid: '21', email: 'twice@example.com', customerId: 'c21', audiences: [add(a.lists[0], 1)] }]);
      await a.send([{ mpid: '921', email: 'twice@example.com', customerId: 'c21', audiences: [del(a.lists[0], 5)] }], { accountId: otherAccount });
      await a.send([{ mpid: '3021', email: 'other@example.com', audiences: [add(a.lists[0], 5)] }], { accountId: otherAccount });
      await stack.settled(a.accountId);
      await stack.settled(otherAccount);
      expect(pairs(a.lists[0]).map((p) => p.split('|')[0])).toEqual(['other@example.com', 'twice@example.com']);
      expect(fake.state.statsFor(a.apiKey).maxInFlight).toBe(1);
    });
  });

  describe('list changes', () => {
    it('moves the members to the new list when a subscription update names another list, and keeps those another audience holds', async () => {
      const { accountId, apiKey, lists, send } = newAccount();
      await send([
        { mpid: '31', email: 'one@example.com', customerId: 'c31', audiences: [add(lists[0], 1)] },
        { mpid: '32', email: 'two@example.com', customerId: 'c32', audiences: [add(lists[0], 1), add(lists[0], 2)] },
      ]);
      await stack.settled(accountId);
      expect(pairs(lists[0])).toEqual(['one@example.com|c31', 'two@example.com|c32']);
      const update = await stack.send({
        type: 'audience_subscription_request',
        id: randomUUID(),
        timestamp_ms: 50_000,
        firehose_version: '3.2.0',
        account: { account_id: accountId, account_settings: { apiKey, userIdField: 'customerId' } },
        audience_id: 1,
        audience_name: 'Audience 1',
        audience_subscription_settings: { listId: String(lists[1]) },
        previous_audience_subscription_settings: { listId: String(lists[0]) },
        action: 'update',
      });
      expect(update.status).toBe(200);
      await stack.settled(accountId);
      expect(pairs(lists[1])).toEqual(['one@example.com|c31', 'two@example.com|c32']);
      expect(pairs(lists[0])).toEqual(['two@example.com|c32']);
    });

    it('follows a new listId in membership messages, even with changes still pending for the old list', async () => {
      const { accountId, lists, send } = newAccount();
      fake.state.setFaults({ errorRates: { status503: 1 } });
      await send([{ mpid: '41', email: 'early@example.com', customerId: 'c41', audiences: [add(lists[0])] }]);
      await send([{ mpid: '42', email: 'late@example.com', customerId: 'c42', audiences: [add(lists[1])] }]);
      // An older message that still names the old list does not move the audience back.
      await send([{ mpid: '43', email: 'old@example.com', customerId: 'c43', audiences: [add(lists[0])] }], { timestampMs: 500 });
      fake.state.setFaults({});
      await stack.settled(accountId);
      expect(pairs(lists[0])).toEqual([]);
      expect(pairs(lists[1])).toEqual(['early@example.com|c41', 'late@example.com|c42', 'old@example.com|c43']);
    });
  });

  describe('identity changes', () => {
    it('replaces the old address with the new one in Customer ID mode', async () => {
      const { accountId, lists, send } = newAccount('email');
      await send([{ mpid: '51', email: 'old@example.com', customerId: '7', audiences: [add(lists[0])] }]);
      await stack.settled(accountId);
      await send([{ mpid: '51', email: 'new@example.com', customerId: '7', audiences: [add(lists[0])] }]);
      await stack.settled(accountId);
      expect(pairs(lists[0])).toEqual(['new@example.com|7']);
    });

    it('keeps the user on the list in a hybrid project when the address changes (the userId names the same Iterable user)', async () => {
      const { accountId, lists, send } = newAccount('hybrid');
      await send([{ mpid: '55', email: 'before@example.com', customerId: '8', audiences: [add(lists[0])] }]);
      await stack.settled(accountId);
      await send([{ mpid: '55', email: 'after@example.com', customerId: '8', audiences: [add(lists[0])] }]);
      await stack.settled(accountId);
      // Iterable refuses to re-address user 8 through lists/subscribe (a conflict): it is kept on the list by its userId.
      expect(pairs(lists[0])).toEqual(['before@example.com|8']);
      expect((await stack.admin('GET', '/v1/users/55/memberships')).body.memberships[0]).toMatchObject({
        state: 'subscribed',
        reason: 'sent by userId (conflict)',
      });
      await send([{ mpid: '55', email: 'after@example.com', customerId: '8', audiences: [del(lists[0])] }]);
      await stack.settled(accountId);
      expect(pairs(lists[0])).toEqual([]);
    });

    it('replaces the placeholder with the real email in mParticle ID mode, in either arrival order', async () => {
      const { accountId, lists, send } = newAccount('email');
      await send([{ mpid: '61', audiences: [add(lists[0])] }], { userIdField: 'mpid', timestampMs: 10_000 });
      await stack.settled(accountId);
      expect(pairs(lists[0])).toEqual(['61@placeholder.email|61']);
      await send([{ mpid: '61', email: 'real@example.com', audiences: [add(lists[0])] }], { userIdField: 'mpid', timestampMs: 20_000 });
      await stack.settled(accountId);
      expect(pairs(lists[0])).toEqual(['real@example.com|61']);
      // A retried older message with the placeholder changes nothing.
      await send([{ mpid: '61', audiences: [add(lists[0])] }], { userIdField: 'mpid', timestampMs: 15_000 });
      await stack.settled(accountId);
      expect(pairs(lists[0])).toEqual(['real@example.com|61']);
    });

    it('removes the address Iterable has when a delete arrives with a new email', async () => {
      const { accountId, lists, send } = newAccount('email');
      await send([{ mpid: '71', email: 'first@example.com', audiences: [add(lists[0])] }], { userIdField: 'mpid' });
      await stack.settled(accountId);
      await send([{ mpid: '71', email: 'second@example.com', audiences: [del(lists[0])] }], { userIdField: 'mpid' });
      await stack.settled(accountId);
      expect(pairs(lists[0])).toEqual([]);
    });
  });

  describe('settings that change', () => {
    it('keeps the newest API key when an older message arrives after a rotation, and delivers with it', async () => {
      const { accountId, apiKey, lists, send } = newAccount();
      await send([{ mpid: '81', email: 'k1@example.com', customerId: 'c81', audiences: [add(lists[0])] }], {
        apiKey: 'revoked-key-000000000',
        timestampMs: 1000,
      });
      await waitFor(async () => (await stack.admin('GET', `/v1/accounts/${accountId}`)).body.status === 'suspended');
      const rotated = await send([{ mpid: '82', email: 'k2@example.com', customerId: 'c82', audiences: [add(lists[0])] }], { apiKey, timestampMs: 3000 });
      // The rotation lifted the bad-key suspension by itself: mParticle is not told to suspend.
      expect(rotated.suspend_subscription ?? false).toBe(false);
      await send([{ mpid: '83', email: 'k3@example.com', customerId: 'c83', audiences: [add(lists[0])] }], {
        apiKey: 'revoked-key-000000000',
        timestampMs: 2000,
      });
      await stack.settled(accountId);
      const account = (await stack.admin('GET', `/v1/accounts/${accountId}`)).body;
      expect(account).toMatchObject({ status: 'active', apiKeyLast4: apiKey.slice(-4) });
      expect(pairs(lists[0]).map((p) => p.split('|')[0])).toEqual(['k1@example.com', 'k2@example.com', 'k3@example.com']);
      expect(fake.state.statsFor(apiKey).requests).toBeGreaterThan(0);
      const metrics = await stack.metrics();
      expect(metrics).toMatch(/audience_bridge_api_key_changes_total\{source="mparticle"\} [1-9]/);
    });

    it('keeps an operator’s change until mParticle sends a different value, and shows it as an override', async () => {
      const { accountId, lists, send } = newAccount();
      await send([{ mpid: '91', email: 'o1@example.com', audiences: [add(lists[0])] }]);
      await stack.settled(accountId);
      const put = await stack.admin('PUT', `/v1/accounts/${accountId}/audiences/1`, { listId: lists[2] });
      expect(put.body).toMatchObject({ listId: lists[2], overriddenAt: expect.any(String) });
      // mParticle repeats its own (unchanged) list id: the override holds, and the audience's members moved.
      await send([{ mpid: '92', email: 'o2@example.com', audiences: [add(lists[0])] }]);
      await stack.settled(accountId);
      expect(pairs(lists[2]).map((p) => p.split('|')[0])).toEqual(['o1@example.com', 'o2@example.com']);
      expect(pairs(lists[0])).toEqual([]);
      // mParticle changes it: mParticle's value is in force again.
      await send([{ mpid: '93', email: 'o3@example.com', audiences: [add(lists[1])] }]);
      await stack.settled(accountId);
      expect((await stack.admin('GET', `/v1/accounts/${accountId}/audiences/1`)).body).toMatchObject({ listId: lists[1], overriddenAt: null });
      expect(pairs(lists[1]).map((p) => p.split('|')[0])).toEqual(['o1@example.com', 'o2@example.com', 'o3@example.com']);
    });
  });

  describe('messages only partly usable', () => {
    it('delivers the routable part, holds an audience without a listId, and releases it when a list is named', async () => {
      const { accountId, apiKey, lists } = newAccount();
      const answer = await stack.send({
        ...membershipMessage(randomUUID(), 5000, [], { accountId, apiKey }),
        account: { account_id: accountId, account_settings: { apiKey, userIdField: ' Customer_ID ' } },
        user_profiles: [
          {
            mpid: '101',
            user_identities: [{ type: 'email', encoding: 'raw', value: 'ok@example.com' }],
            audiences: [
              { audience_id: 1, audience_name: 'Routable', audience_subscription_settings: { listId: String(lists[0]) }, action: 'add' },
              { audience_id: 9, audience_name: 'No list', action: 'add' },
            ],
          },
        ],
      });
      expect(answer.status).toBe(200);
      expect(answer.body.suspend_subscription ?? false).toBe(false);
      await stack.settled(accountId);
      expect(pairs(lists[0])).toEqual(['ok@example.com|']);
      const user = (await stack.admin('GET', '/v1/users/101/memberships')).body.memberships;
      expect(user.find((m: { audienceId: number }) => m.audienceId === 9)).toMatchObject({ state: 'held', reason: 'audience has no listId' });
      expect((await stack.admin('GET', '/v1/stats')).body.heldWithoutList).toBeGreaterThanOrEqual(1);

      // An operator names the list: the held change goes out.
      await stack.admin('PUT', `/v1/accounts/${accountId}/audiences/9`, { listId: lists[1] });
      await stack.settled(accountId);
      expect(pairs(lists[1])).toEqual(['ok@example.com|']);
    });

    it('reads obvious spellings of userIdField (" MPID ", mparticle_id) as mParticle ID mode', async () => {
      const { accountId, apiKey, lists } = newAccount();
      for (const [i, spelling] of [' MPID ', 'mparticle_id'].entries()) {
        const message = membershipMessage(randomUUID(), 1000 + i, [{ mpid: `11${i}`, audiences: [add(lists[i], i + 1)] }], { accountId, apiKey });
        (message.account as { account_settings: Record<string, string> }).account_settings['userIdField'] = spelling;
        expect((await stack.send(message)).status).toBe(200);
      }
      await stack.settled(accountId);
      expect(pairs(lists[0])).toEqual(['110@placeholder.email|110']);
      expect(pairs(lists[1])).toEqual(['111@placeholder.email|111']);
    });
  });
});
