import type { RunningFakeIterable } from './fake-iterable.server';
import { startFakeIterable } from './fake-iterable.server';
import { fakeClient } from './testing/http-call';

describe('fake Iterable: list reads (getUsers, size) and operator edits', () => {
  let fake: RunningFakeIterable;
  let client: ReturnType<typeof fakeClient>;
  let listId: number;
  const getUsers = (key = 'k', query = '') => client.api(key, 'GET', `/api/lists/getUsers?listId=${listId}${query}`);
  const lines = (text: string) =>
    text
      .split('\n')
      .filter((l) => l !== '')
      .sort();

  beforeAll(async () => {
    fake = await startFakeIterable();
    client = fakeClient(fake.url);
  });
  afterAll(() => fake.close());
  beforeEach(async () => {
    await client.control('POST', '/reset');
    listId = (await client.project('k', 'hybrid')).lists[0].id;
  });

  it('allows 5 getUsers per minute per project, then answers 429 RateLimitExceeded with Retry-After; size and other projects count apart', async () => {
    const other = (await client.project('k2', 'hybrid')).lists[0].id;
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await getUsers()).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    const limited = await getUsers();
    expect(limited.json).toEqual({
      msg: expect.stringMatching(/^Exceeded rate limit for endpoint: \/api\/lists\/getUsers, project: \d+$/),
      code: 'RateLimitExceeded',
      params: {},
    });
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(59);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect((await client.api('k', 'GET', `/api/lists/${listId}/size`)).status).toBe(200);
    expect((await client.api('k2', 'GET', `/api/lists/getUsers?listId=${other}`)).status).toBe(200);
    expect((await client.api('k', 'POST', '/api/lists/subscribe', { listId, subscribers: [{ email: 'a@x.io' }] })).status).toBe(200);
    expect((await client.control('GET', '/stats')).json.keys.k.rateLimited).toBe(2);
  });

  it('counts the budget over a sliding minute; listReadsPerMinute 0 lifts it and a reset clears it', async () => {
    fake.state.listReads.take(fake.state.projectFor('k').projectId, 'getUsers', 5, Date.now() - 59_500);
    for (let i = 0; i < 4; i++) expect((await getUsers()).status).toBe(200);
    const limited = await getUsers();
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('1');
    await new Promise((r) => setTimeout(r, 600));
    expect((await getUsers()).status).toBe(200);
    expect((await client.control('PUT', '/config', { listReadsPerMinute: 0 })).json.listReadsPerMinute).toBe(0);
    for (let i = 0; i < 8; i++) expect((await getUsers()).status).toBe(200);
    expect((await client.control('PUT', '/config', { listReadsPerMinute: -1 })).status).toBe(400);
  });

  it('names members by userId in userId-based projects, and in hybrid ones with preferUserId=true', async () => {
    const byId = (await client.project('ids', 'userId', 'US', [{ name: 'by-id' }])).lists[0].id;
    await client.api('ids', 'POST', '/api/lists/subscribe', { listId: byId, subscribers: [{ email: 'x@x.io', userId: 'u-x' }, { userId: 'u-y' }] });
    expect(lines((await client.api('ids', 'GET', `/api/lists/getUsers?listId=${byId}`)).text)).toEqual(['u-x', 'u-y']);
    await client.api('k', 'POST', '/api/lists/subscribe', { listId, subscribers: [{ email: 'A@x.io', userId: 'u-a' }, { email: 'b@x.io' }] });
    expect(lines((await getUsers()).text)).toEqual(['a@x.io', 'b@x.io']);
    expect(lines((await getUsers('k', '&preferUserId=true')).text)).toEqual(['b@x.io', 'u-a']);
  });

  it('streams a large list in pieces (no Content-Length), one identifier per line', async () => {
    const project = fake.state.projectFor('k');
    fake.state.seedUsers(
      project,
      Array.from({ length: 50_000 }, (_, i) => ({ email: `member${i}@example.com`, listIds: [listId] })),
    );
    const answer = await getUsers();
    expect(answer.status).toBe(200);
    expect(answer.headers['content-length']).toBeUndefined();
    expect(answer.headers['transfer-encoding']).toBe('chunked');
    const got = answer.text.split('\n');
    expect(got.pop()).toBe('');
    expect(got).toHaveLength(50_000);
    expect(new Set(got).size).toBe(50_000);
    expect((await client.api('k', 'GET', `/api/lists/${listId}/size`)).text).toBe('50000');
  });

  it('with membershipVisibilityDelayMs, reads show a member as it was until that long after its last change', async () => {
    await client.api('k', 'POST', '/api/lists/subscribe', { listId, subscribers: [{ email: 'old@x.io' }] });
    await client.control('PUT', '/config', { membershipVisibilityDelayMs: 400, listReadsPerMinute: 0 });
    await client.api('k', 'POST', '/api/lists/subscribe', { listId, subscribers: [{ email: 'new@x.io' }] });
    await client.api('k', 'POST', '/api/lists/unsubscribe', { listId, subscribers: [{ email: 'old@x.io' }] });
    expect(lines((await getUsers()).text)).toEqual(['old@x.io']);
    expect((await client.api('k', 'GET', `/api/lists/${listId}/size`)).text).toBe('1');
    // The control API shows what the list holds now.
    expect((await client.members(listId)).map((m) => m.email)).toEqual(['new@x.io']);
    await new Promise((r) => setTimeout(r, 450));
    expect(lines((await getUsers()).text)).toEqual(['new@x.io']);
  });

  it('POST /_fake/lists/:id/operator-edit adds strangers (created when unknown) and removes members behind our back', async () => {
    await client.api('k', 'POST', '/api/lists/subscribe', { listId, subscribers: [{ email: 'kept@x.io' }, { email: 'gone@x.io' }] });
    const edited = await client.control('POST', `/lists/${listId}/operator-edit`, {
      add: [{ email: 'Stranger@X.io' }, { email: 'kept@x.io' }, { userId: 'only-id' }],
      remove: [{ email: 'gone@x.io' }, { email: 'never@x.io' }],
    });
    expect(edited.status).toBe(200);
    expect(edited.json).toEqual({ added: 2, removed: 1, created: 2 });
    expect((await client.members(listId)).map((m) => m.email ?? m.userId).sort()).toEqual(['kept@x.io', 'only-id', 'stranger@x.io']);
    expect(fake.state.requests.filter((r) => r.apiPath.includes('operator-edit'))).toEqual([]);
    expect((await client.control('POST', `/lists/${listId}/operator-edit`, { add: [{ email: 5 }] })).status).toBe(400);
    expect((await client.control('POST', '/lists/999999/operator-edit', { add: [] })).status).toBe(400);
  });
  it('forced truncateBodyAtChars ends a getUsers answer cleanly but early, mid-line; dropFinalNewline leaves the last line without its newline', async () => {
    const emails = Array.from({ length: 30 }, (_, i) => `m${String(i).padStart(2, '0')}@x.io`);
    await client.api('k', 'POST', '/api/lists/subscribe', { listId, subscribers: emails.map((email) => ({ email })) });
    const whole = (await getUsers()).text;
    expect(whole).toHaveLength(30 * 'm00@x.io\n'.length);
    await client.control('PUT', '/faults', { forced: [{ path: '/api/lists/getUsers', truncateBodyAtChars: 4 * 9 + 5 }] });
    const cut = await getUsers();
    expect(cut.status).toBe(200);
    expect(cut.text).toBe(whole.slice(0, 41));
    expect(cut.text.endsWith('\n')).toBe(false);
    expect(fake.state.requests.at(-1)?.fault).toBe('forced cut answer');
    await client.control('PUT', '/faults', { forced: [{ path: '/api/lists/getUsers', dropFinalNewline: true }] });
    expect((await getUsers()).text).toBe(whole.slice(0, -1));
    expect((await getUsers()).text).toBe(whole);
    // A cut asked of an answer that is not streamed changes nothing; a bad value is refused.
    await client.control('PUT', '/faults', { forced: [{ path: `/api/lists/${listId}/size`, truncateBodyAtChars: 0 }] });
    expect((await client.api('k', 'GET', `/api/lists/${listId}/size`)).text).toBe('30');
    const refused = await client.control('PUT', '/faults', { forced: [{ truncateBodyAtChars: -1 }, { dropFinalNewline: 'yes' }] });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.json)).toContain('forced[0].truncateBodyAtChars must be a non-negative integer');
    expect(JSON.stringify(refused.json)).toContain('forced[1].dropFinalNewline must be a boolean');
  });
});
