import type { RunningFakeIterable } from './fake-iterable.server';
import { startFakeIterable } from './fake-iterable.server';
import { fakeClient } from './testing/http-call';

describe('fake Iterable: lists API', () => {
  let fake: RunningFakeIterable;
  let client: ReturnType<typeof fakeClient>;
  let listId: number;

  beforeAll(async () => {
    fake = await startFakeIterable();
    client = fakeClient(fake.url);
  });
  afterAll(() => fake.close());
  beforeEach(async () => {
    await client.control('POST', '/reset');
    listId = (await client.project('k', 'hybrid', 'US', [{ name: 'seeded' }])).lists[0].id;
    await client.project('other', 'hybrid', 'US', [{ name: 'not-mine' }]);
  });

  it("POST /api/lists creates a static list and GET /api/lists lists the project's lists only", async () => {
    const before = Date.now();
    const created = await client.api('k', 'POST', '/api/lists', { name: 'aud_vip', description: 'synced' });
    expect(created.status).toBe(200);
    expect(created.json).toEqual({ listId: expect.any(Number) });
    const lists = (await client.api('k', 'GET', '/api/lists')).json.lists;
    expect(lists).toEqual([
      { id: listId, name: 'seeded', listType: 'Standard', createdAt: expect.any(Number) },
      { id: created.json.listId, name: 'aud_vip', description: 'synced', listType: 'Standard', createdAt: expect.any(Number) },
    ]);
    expect(lists[1].createdAt).toBeGreaterThanOrEqual(before);
  });

  it.each([
    ['no name', {}],
    ['an empty name', { name: ' ' }],
    ['a numeric description', { name: 'x', description: 5 }],
  ])('POST /api/lists with %s → 400 BadParams', async (_name, body) => {
    const answer = await client.api('k', 'POST', '/api/lists', body);
    expect(answer.status).toBe(400);
    expect(answer.json.code).toBe('BadParams');
  });

  it('getUsers answers text/plain, one identifier per line, email by default and userId on preferUserId', async () => {
    await client.api('k', 'POST', '/api/lists/subscribe', {
      listId,
      subscribers: [{ email: 'A@example.com', userId: 'u-a' }, { email: 'b@example.com' }],
    });
    const emails = await client.api('k', 'GET', `/api/lists/getUsers?listId=${listId}`);
    expect(emails.status).toBe(200);
    expect(emails.headers['content-type']).toMatch(/^text\/plain/);
    expect(emails.text).toBe('a@example.com\nb@example.com\n');
    const ids = await client.api('k', 'GET', `/api/lists/getUsers?listId=${listId}&preferUserId=true`);
    expect(ids.text).toBe('u-a\nb@example.com\n');
  });

  it('getUsers of an empty list answers an empty body; of an unknown list 400 invalidListId', async () => {
    expect((await client.api('k', 'GET', `/api/lists/getUsers?listId=${listId}`)).text).toBe('');
    const unknown = await client.api('k', 'GET', '/api/lists/getUsers?listId=999999');
    expect(unknown.status).toBe(400);
    expect(unknown.json.msg).toBe('error.lists.invalidListId(999999)');
    expect((await client.api('k', 'GET', '/api/lists/getUsers')).json.code).toBe('BadParams');
  });

  it('size answers a bare number', async () => {
    await client.api('k', 'POST', '/api/lists/subscribe', { listId, subscribers: [{ email: 'a@example.com' }, { email: 'b@example.com' }] });
    const size = await client.api('k', 'GET', `/api/lists/${listId}/size`);
    expect(size.status).toBe(200);
    expect(size.text).toBe('2');
  });

  it('DELETE removes a list; a list of another project is unknown', async () => {
    const other = (await client.control('GET', '/projects')).json.projects[1].lists[0].id;
    expect((await client.api('k', 'DELETE', `/api/lists/${other}`)).status).toBe(400);
    const deleted = await client.api('k', 'DELETE', `/api/lists/${listId}`);
    expect(deleted.json).toEqual({ msg: `Deleted list ${listId}`, code: 'Success', params: null });
    expect((await client.api('k', 'GET', '/api/lists')).json.lists).toEqual([]);
  });

  it('the control API shows members with email and userId', async () => {
    await client.api('k', 'POST', '/api/lists/subscribe', { listId, subscribers: [{ userId: 'only-id' }, { email: 'E@x.io', userId: 'both' }] });
    expect(await client.members(listId)).toEqual([
      { email: null, userId: 'only-id' },
      { email: 'e@x.io', userId: 'both' },
    ]);
    expect((await client.control('GET', '/lists/123456/members')).status).toBe(404);
  });
});
