import fc from 'fast-check';

import type { FailedUpdateCategory, SeedUserInput } from './fake-iterable.types';
import { FAILED_UPDATE_CATEGORIES } from './fake-iterable.types';
import type { RunningFakeIterable } from './fake-iterable.server';
import { startFakeIterable } from './fake-iterable.server';
import { FakeIterableState } from './fake-iterable.state';
import { fakeClient } from './testing/http-call';

type Expected = 'success' | [FailedUpdateCategory, string];

describe('fake Iterable: lists/subscribe and lists/unsubscribe', () => {
  let fake: RunningFakeIterable;
  let client: ReturnType<typeof fakeClient>;

  beforeAll(async () => {
    fake = await startFakeIterable();
    client = fakeClient(fake.url);
  });
  afterAll(() => fake.close());
  beforeEach(() => client.control('POST', '/reset'));

  /** A project `k` of the given type with one list; users seeded (`listIds: [0]` means "on that list"). */
  async function setUp(type: string, users: SeedUserInput[] = [], forgotten: { emails?: string[]; userIds?: string[] } = {}) {
    const listId = (await client.project('k', type)).lists[0].id;
    if (users.length > 0) {
      const seeded = users.map((u) => ({ ...u, ...(u.listIds ? { listIds: u.listIds.map(() => listId) } : {}) }));
      expect((await client.control('POST', '/users', { apiKey: 'k', users: seeded })).status).toBe(201);
    }
    if (forgotten.emails || forgotten.userIds) await client.control('POST', '/forgotten', { apiKey: 'k', ...forgotten });
    return listId;
  }

  function expectSingleOutcome(body: Record<string, unknown>, expected: Expected): void {
    const failedUpdates = body.failedUpdates as Record<string, string[]>;
    const wanted = Object.fromEntries(FAILED_UPDATE_CATEGORIES.map((c) => [c, [] as string[]]));
    if (expected !== 'success') wanted[expected[0]] = [expected[1]];
    expect(failedUpdates).toEqual(wanted);
    expect(body.successCount).toBe(expected === 'success' ? 1 : 0);
    expect(body.failCount).toBe(expected === 'success' ? 0 : 1);
    expect(body.invalidEmails).toEqual(wanted.invalidEmails);
    expect(body.invalidUserIds).toEqual(wanted.invalidUserIds);
  }

  const existing = (email?: string, userId?: string, onList = false): SeedUserInput => ({
    ...(email ? { email } : {}),
    ...(userId ? { userId } : {}),
    ...(onList ? { listIds: [0] } : {}),
  });

  it.each<[string, string, SeedUserInput[], { emails?: string[]; userIds?: string[] }, Record<string, unknown>, boolean, Expected]>([
    // email-based projects
    ['email: an unknown email creates the user', 'email', [], {}, { email: 'New@Example.com' }, false, 'success'],
    ['email: a malformed email, echoed lower-cased', 'email', [], {}, { email: 'Bad@' }, false, ['invalidEmails', 'bad@']],
    ['email: an unknown userId alone', 'email', [], {}, { userId: 'u-1' }, false, ['notFoundUserIds', 'u-1']],
    ['email: an unknown userId with preferUserId', 'email', [], {}, { userId: 'u-1', preferUserId: true }, false, 'success'],
    ['email: a known userId alone', 'email', [existing('a@x.io', 'u-1')], {}, { userId: 'u-1' }, false, 'success'],
    ['email: updateExistingUsersOnly is ignored', 'email', [], {}, { email: 'a@x.io' }, true, 'success'],
    ['email: a forgotten email in another case', 'email', [], { emails: ['gone@x.io'] }, { email: 'GONE@x.io' }, false, ['forgottenEmails', 'gone@x.io']],
    ['email: a bad userId beside a good email', 'email', [], {}, { email: 'a@x.io', userId: 'u ' }, false, ['invalidUserIds', 'u ']],
    ['email: no identifier at all', 'email', [], {}, {}, false, ['invalidEmails', '']],
    // userId-based projects
    ['userId: an unknown userId creates the user', 'userId', [], {}, { userId: 'u-1' }, false, 'success'],
    ['userId: unknown with updateExistingUsersOnly', 'userId', [], {}, { userId: 'u-1' }, true, ['notFoundUserIds', 'u-1']],
    ['userId: known with updateExistingUsersOnly', 'userId', [existing(undefined, 'u-1')], {}, { userId: 'u-1' }, true, 'success'],
    ['userId: an email without userId', 'userId', [], {}, { email: 'a@x.io' }, false, ['invalidUserIds', '']],
    ['userId: 53 characters', 'userId', [], {}, { userId: 'x'.repeat(53) }, false, ['invalidUserIds', 'x'.repeat(53)]],
    ['userId: a trailing space', 'userId', [], {}, { userId: 'u-1 ' }, false, ['invalidUserIds', 'u-1 ']],
    ['userId: non-ASCII', 'userId', [], {}, { userId: 'ü' }, false, ['invalidUserIds', 'ü']],
    ['userId: empty', 'userId', [], {}, { userId: '' }, false, ['invalidUserIds', '']],
    ['userId: forgotten', 'userId', [], { userIds: ['u-9'] }, { userId: 'u-9' }, false, ['forgottenUserIds', 'u-9']],
    // hybrid projects
    ['hybrid: unknown email and userId create the user', 'hybrid', [], {}, { email: 'a@x.io', userId: 'u-1' }, false, 'success'],
    [
      'hybrid: email and userId of two different users',
      'hybrid',
      [existing('a@x.io'), existing(undefined, 'u-2')],
      {},
      { email: 'A@x.io', userId: 'u-2' },
      false,
      ['conflictEmails', 'a@x.io'],
    ],
    [
      'hybrid: a known email whose user has another userId',
      'hybrid',
      [existing('a@x.io', 'u-1')],
      {},
      { email: 'a@x.io', userId: 'u-2' },
      false,
      ['conflictEmails', 'a@x.io'],
    ],
    [
      'hybrid: a known userId whose user has another email',
      'hybrid',
      [existing('a@x.io', 'u-1')],
      {},
      { userId: 'u-1', email: 'b@x.io' },
      false,
      ['conflictEmails', 'b@x.io'],
    ],
    ['hybrid: a known userId gains an email', 'hybrid', [existing(undefined, 'u-1')], {}, { userId: 'u-1', email: 'b@x.io' }, false, 'success'],
    ['hybrid: unknown email with updateExistingUsersOnly', 'hybrid', [], {}, { email: 'a@x.io' }, true, ['notFoundEmails', 'a@x.io']],
    ['hybrid: unknown userId with updateExistingUsersOnly', 'hybrid', [], {}, { userId: 'u-1' }, true, ['notFoundUserIds', 'u-1']],
    ['hybrid: forgotten userId', 'hybrid', [], { userIds: ['u-9'] }, { email: 'a@x.io', userId: 'u-9' }, false, ['forgottenUserIds', 'u-9']],
  ])('subscribe, %s', async (_name, type, users, forgotten, subscriber, updateExistingUsersOnly, expected) => {
    const listId = await setUp(type, users, forgotten);
    const answer = await client.api('k', 'POST', '/api/lists/subscribe', { listId, subscribers: [subscriber], updateExistingUsersOnly });
    expect(answer.status).toBe(200);
    expectSingleOutcome(answer.json, expected);
    expect(await client.members(listId)).toHaveLength(expected === 'success' ? 1 : 0);
  });

  it.each<[string, string, SeedUserInput[], { emails?: string[]; userIds?: string[] }, Record<string, unknown>, Expected, number]>([
    ['email: an unknown email', 'email', [], {}, { email: 'No@x.io' }, ['notFoundEmails', 'no@x.io'], 0],
    ['userId: an unknown userId', 'userId', [], {}, { userId: 'u-1' }, ['notFoundUserIds', 'u-1'], 0],
    ['hybrid: an unknown userId', 'hybrid', [], {}, { userId: 'u-1' }, ['notFoundUserIds', 'u-1'], 0],
    ['hybrid: an unknown email', 'hybrid', [], {}, { email: 'a@x.io' }, ['notFoundEmails', 'a@x.io'], 0],
    ['hybrid: a member, by email', 'hybrid', [existing('a@x.io', 'u-1', true), existing('b@x.io', undefined, true)], {}, { email: 'A@X.io' }, 'success', 1],
    ['userId: a member', 'userId', [existing(undefined, 'u-1', true)], {}, { userId: 'u-1' }, 'success', 0],
    ['email: a known user who is not a member', 'email', [existing('a@x.io'), existing('b@x.io', undefined, true)], {}, { email: 'a@x.io' }, 'success', 1],
    ['email: a forgotten email', 'email', [], { emails: ['gone@x.io'] }, { email: 'gone@x.io' }, ['forgottenEmails', 'gone@x.io'], 0],
    ['email: a malformed email', 'email', [], {}, { email: 'not an email' }, ['invalidEmails', 'not an email'], 0],
    [
      'hybrid: identifiers of two users',
      'hybrid',
      [existing('a@x.io', undefined, true), existing(undefined, 'u-2', true)],
      {},
      { email: 'a@x.io', userId: 'u-2' },
      ['conflictEmails', 'a@x.io'],
      2,
    ],
  ])('unsubscribe, %s', async (_name, type, users, forgotten, subscriber, expected, membersAfter) => {
    const listId = await setUp(type, users, forgotten);
    const answer = await client.api('k', 'POST', '/api/lists/unsubscribe', { listId, subscribers: [subscriber], channelUnsubscribe: false });
    expect(answer.status).toBe(200);
    expectSingleOutcome(answer.json, expected);
    expect(await client.members(listId)).toHaveLength(membersAfter);
  });

  it('answers a mixed batch with counts, all ten arrays, the deprecated copies, created and filtered fields', async () => {
    const listId = await setUp('hybrid', [], { emails: ['f@example.com'] });
    const answer = await client.api('k', 'POST', '/api/lists/subscribe', {
      listId,
      subscribers: [
        { email: 'ok1@example.com', dataFields: { tier: 'gold' } },
        { email: 'ok2@example.com', userId: 'u-2' },
        { email: 'Bad@' },
        { email: 'F@example.com' },
        { userId: 'x'.repeat(60) },
      ],
    });
    expect(answer.json).toEqual({
      successCount: 2,
      failCount: 3,
      failedUpdates: {
        invalidEmails: ['bad@'],
        invalidUserIds: ['x'.repeat(60)],
        notFoundEmails: [],
        notFoundUserIds: [],
        forgottenEmails: ['f@example.com'],
        forgottenUserIds: [],
        conflictEmails: [],
        conflictUserIds: [],
        invalidDataEmails: [],
        invalidDataUserIds: [],
      },
      invalidEmails: ['bad@'],
      invalidUserIds: ['x'.repeat(60)],
      createdFields: ['tier'],
      filteredOutFields: [],
    });
  });

  it('omits empty arrays when configured to', async () => {
    const listId = await setUp('email');
    expect((await client.control('PUT', '/config', { omitEmptyArrays: true })).json.omitEmptyArrays).toBe(true);
    const clean = await client.api('k', 'POST', '/api/lists/subscribe', { listId, subscribers: [{ email: 'a@x.io' }] });
    expect(clean.json).toEqual({ successCount: 1, failCount: 0 });
    const failing = await client.api('k', 'POST', '/api/lists/subscribe', { listId, subscribers: [{ email: 'bad@' }] });
    expect(failing.json).toEqual({ successCount: 0, failCount: 1, failedUpdates: { invalidEmails: ['bad@'] }, invalidEmails: ['bad@'] });
  });

  it('stores emails lower-cased and subscribing twice keeps one membership', async () => {
    const listId = await setUp('email');
    for (let i = 0; i < 2; i++) {
      await client.api('k', 'POST', '/api/lists/subscribe', { listId, subscribers: [{ email: 'MiXeD@Example.COM', userId: `u-${i}` }] });
    }
    expect(await client.members(listId)).toEqual([{ email: 'mixed@example.com', userId: 'u-1' }]);
  });

  it('creates a placeholder email for a userId with preferUserId in an email-based project', async () => {
    const listId = await setUp('email');
    await client.api('k', 'POST', '/api/lists/subscribe', { listId, subscribers: [{ userId: 'anon-1', preferUserId: true }] });
    const [member] = await client.members(listId);
    expect(member.userId).toBe('anon-1');
    expect(member.email).toMatch(/^[0-9a-f]+@placeholder\.email$/);
  });

  it('merges dataFields, honours mergeNestedObjects and refuses a field changing type as invalidData', async () => {
    const listId = await setUp('hybrid');
    const post = (subscribers: unknown[]) => client.api('k', 'POST', '/api/lists/subscribe', { listId, subscribers });
    expect((await post([{ userId: 'u-1', dataFields: { tier: 'gold', prefs: { a: 1 } } }])).json.createdFields).toEqual(['tier', 'prefs']);
    await post([{ userId: 'u-1', dataFields: { prefs: { b: 2 } }, mergeNestedObjects: true }]);
    await post([{ userId: 'u-1', dataFields: { score: 5 } }]);
    const project = fake.state.projects.get('k');
    const user = [...(project?.users.values() ?? [])][0];
    expect(user.dataFields).toEqual({ tier: 'gold', prefs: { a: 1, b: 2 }, score: 5 });
    await post([{ userId: 'u-1', dataFields: { prefs: { c: 3 } } }]);
    expect(user.dataFields.prefs).toEqual({ c: 3 });
    const clash = await post([
      { userId: 'u-1', dataFields: { score: 'high' } },
      { email: 'new@x.io', dataFields: { tier: 7 } },
      { email: 'n2@x.io', dataFields: 'nope' },
    ]);
    expect(clash.json.failedUpdates.invalidDataUserIds).toEqual(['u-1']);
    expect(clash.json.failedUpdates.invalidDataEmails).toEqual(['new@x.io', 'n2@x.io']);
    expect(clash.json.failCount).toBe(3);
  });

  describe('request errors', () => {
    it.each([
      ['BadParams code (default)', {}, 400, 'BadParams'],
      ['the odd "Success" code', { invalidListIdCode: 'Success' }, 400, 'Success'],
      ['a 500 status', { invalidListIdStatus: 500 }, 500, 'BadParams'],
    ])('an unknown listId answers error.lists.invalidListId with %s', async (_name, config, status, code) => {
      await setUp('hybrid');
      await client.control('PUT', '/config', config);
      for (const path of ['/api/lists/subscribe', '/api/lists/unsubscribe']) {
        const answer = await client.api('k', 'POST', path, { listId: 999999999, subscribers: [{ email: 'a@x.io' }] });
        expect(answer.status).toBe(status);
        expect(answer.json).toEqual({ msg: 'error.lists.invalidListId(999999999)', code, params: { projectId: expect.any(Number), listId: 999999999 } });
      }
    });

    it("another project's list is an unknown list", async () => {
      await setUp('hybrid');
      const otherList = (await client.project('k2', 'hybrid')).lists[0].id;
      const answer = await client.api('k', 'POST', '/api/lists/subscribe', { listId: otherList, subscribers: [{ email: 'a@x.io' }] });
      expect(answer.status).toBe(400);
      expect(answer.json.msg).toBe(`error.lists.invalidListId(${otherList})`);
    });

    it('a just-created list can be briefly invalid (eventual consistency)', async () => {
      await setUp('hybrid');
      await client.control('PUT', '/config', { newListInvalidForMs: 300 });
      const { listId } = (await client.api('k', 'POST', '/api/lists', { name: 'fresh' })).json;
      const body = { listId, subscribers: [{ email: 'a@x.io' }] };
      expect((await client.api('k', 'POST', '/api/lists/subscribe', body)).status).toBe(400);
      await new Promise((resolve) => setTimeout(resolve, 350));
      expect((await client.api('k', 'POST', '/api/lists/subscribe', body)).status).toBe(200);
    });

    it.each([
      ['no listId', { subscribers: [] }, 'listId: error.path.missing'],
      ['no subscribers', { listId: 1 }, 'subscribers: error.path.missing'],
      ['subscribers not an array', { listId: 1, subscribers: {} }, 'subscribers: error.expected.jsarray'],
      ['a string listId', { listId: '1', subscribers: [] }, 'listId: error.expected.jsnumber'],
      ['a subscriber that is not an object', { listId: 1, subscribers: ['a@x.io'] }, 'subscribers(0): error.expected.jsobject'],
      ['a numeric email', { listId: 1, subscribers: [{ email: 5 }] }, 'subscribers(0).email: error.expected.jsstring'],
      ['a body that is an array', [], 'error.expected.jsobject'],
    ])('%s → 400 BadParams', async (_name, body, detail) => {
      await setUp('hybrid');
      const answer = await client.api('k', 'POST', '/api/lists/subscribe', body);
      expect(answer.status).toBe(400);
      expect(answer.json).toEqual({ msg: `Invalid params: ${detail}`, code: 'BadParams', params: {} });
    });

    it.each(['{"listId": 1, "subscribers": [', '', 'not json'])('unparseable JSON %j → 400 BadJsonBody', async (raw) => {
      await setUp('hybrid');
      const answer = await client.api('k', 'POST', '/api/lists/subscribe', raw);
      expect(answer.status).toBe(400);
      expect(answer.json).toMatchObject({ code: 'BadJsonBody', params: null });
    });

    it('a body over 4 MB answers 413; one just under is processed', async () => {
      const listId = await setUp('hybrid');
      const big = { listId, subscribers: [{ email: 'a@x.io', dataFields: { blob: 'x'.repeat(4 * 1024 * 1024) } }] };
      const tooLarge = await client.api('k', 'POST', '/api/lists/subscribe', big);
      expect(tooLarge.status).toBe(413);
      expect(tooLarge.json.code).toBe('BatchTooLarge');
      const fits = { listId, subscribers: [{ email: 'a@x.io', dataFields: { blob: 'x'.repeat(4 * 1024 * 1024 - 200) } }] };
      expect((await client.api('k', 'POST', '/api/lists/subscribe', fits)).status).toBe(200);
    });
  });
});

describe('bulk invariants (property)', () => {
  const identifier = fc.oneof(fc.constantFrom('a@x.io', 'B@x.io', 'b@x.io', 'bad@', '', 'c@x.io'), fc.emailAddress(), fc.string({ maxLength: 8 }));
  const subscriber = fc.record(
    { email: identifier, userId: fc.oneof(fc.constantFrom('u-1', 'u-2', 'u 3 ', ''), fc.string({ maxLength: 60 })), preferUserId: fc.boolean() },
    { requiredKeys: [] },
  );

  it('successCount + failCount equals the batch size, and every failure is echoed once', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('email', 'userId', 'hybrid'),
        fc.constantFrom<'subscribe' | 'unsubscribe'>('subscribe', 'unsubscribe'),
        fc.array(subscriber, { maxLength: 30 }),
        fc.boolean(),
        (type, action, subscribers, updateExistingUsersOnly) => {
          const state = new FakeIterableState();
          const project = state.createProject({ apiKey: 'k', type, lists: [{ name: 'l' }] });
          state.seedUsers(project, [{ email: 'a@x.io', userId: 'u-1' }, { email: 'c@x.io' }]);
          state.forget(project, ['b@x.io'], ['u-2']);
          const list = state.listsOf(project)[0];
          const result =
            action === 'subscribe' ? state.subscribe(project, list, subscribers, updateExistingUsersOnly) : state.unsubscribe(project, list, subscribers);
          const echoed = Object.values(result.failedUpdates).reduce((n, values) => n + values.length, 0);
          expect(result.successCount + result.failCount).toBe(subscribers.length);
          expect(echoed).toBe(result.failCount);
          for (const email of [...result.failedUpdates.invalidEmails, ...result.failedUpdates.forgottenEmails, ...result.failedUpdates.notFoundEmails]) {
            expect(email).toBe(email.toLowerCase());
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
