import { request } from 'node:http';

import type { RunningFakeIterable } from './fake-iterable.server';
import { startFakeIterable } from './fake-iterable.server';
import { call, fakeClient } from './testing/http-call';

describe('fake Iterable: authentication, data centers, routing, control API', () => {
  let fake: RunningFakeIterable;
  let client: ReturnType<typeof fakeClient>;

  beforeAll(async () => {
    fake = await startFakeIterable({ port: 0 });
    client = fakeClient(fake.url);
  });
  afterAll(() => fake.close());
  beforeEach(async () => {
    await client.control('POST', '/reset');
    await client.project('us-key', 'hybrid', 'US');
    await client.project('eu-key', 'userId', 'EU');
  });

  it('listens on a random local port when asked for port 0', () => {
    expect(fake.port).toBeGreaterThan(0);
    expect(fake.url).toBe(`http://127.0.0.1:${fake.port}`);
  });

  it.each([
    ['no Api-Key header', {}],
    ['an unknown key', { 'Api-Key': 'nope' }],
    ['the key in the query string only', {}, '/api/lists?api_key=us-key'],
    ['the key under a different header name', { Api_Key: 'us-key' }],
  ])('answers 401 BadApiKey for %s', async (_name, headers: Record<string, string>, path = '/api/lists') => {
    const answer = await call(fake.url, 'GET', path, { headers });
    expect(answer.status).toBe(401);
    expect(answer.json).toEqual({ msg: 'Invalid API key', code: 'BadApiKey', params: { ip: expect.any(String), endpoint: '/api/lists' } });
  });

  it.each(['Api-Key', 'api-key', 'API-KEY', 'aPi-KeY'])('accepts the header spelled %s', async (name) => {
    const answer = await call(fake.url, 'GET', '/api/lists', { headers: { [name]: 'us-key' } });
    expect(answer.status).toBe(200);
    expect(answer.json.lists).toHaveLength(1);
  });

  it.each([
    ['a US key on the EU prefix', 'us-key', '/eu/api/lists', 401],
    ['an EU key on the US path', 'eu-key', '/api/lists', 401],
    ['a US key on the US path', 'us-key', '/api/lists', 200],
    ['an EU key on the EU prefix', 'eu-key', '/eu/api/lists', 200],
  ])('%s → %s', async (_name, key, path, status) => {
    expect((await client.api(key, 'GET', path)).status).toBe(status);
  });

  it.each([
    ['an unknown path with a key', 'us-key', 'POST', '/api/users/update'],
    ['an unknown path without a key', undefined, 'GET', '/nothing/here'],
    ['a known path with the wrong method', 'us-key', 'GET', '/api/lists/subscribe'],
    ['an unknown EU path', 'eu-key', 'GET', '/eu/api/nope'],
  ])('answers %s with the HTML "Action not found" page', async (_name, key, method, path) => {
    const answer = await client.api(key, method, path);
    expect(answer.status).toBe(404);
    expect(answer.headers['content-type']).toMatch(/^text\/html/);
    expect(answer.text).toContain('<title>Action not found</title>');
    expect(answer.json).toBeUndefined();
  });

  describe('control API', () => {
    it('creates projects with their lists and reports them', async () => {
      const created = await client.control('POST', '/projects', {
        apiKey: 'new-key',
        type: 'email-based',
        dataCenter: 'US',
        projectId: 4242,
        lists: [
          { name: 'vip', description: 'd' },
          { name: 'other', id: 777 },
        ],
      });
      expect(created.status).toBe(201);
      expect(created.json).toEqual({
        projectId: 4242,
        apiKey: 'new-key',
        type: 'email',
        dataCenter: 'US',
        lists: [
          { id: expect.any(Number), name: 'vip' },
          { id: 777, name: 'other' },
        ],
        users: 0,
      });
      const listed = await client.control('GET', '/projects');
      expect(listed.json.projects.map((p: { apiKey: string }) => p.apiKey)).toEqual(['us-key', 'eu-key', 'new-key']);
    });

    it.each([
      ['an unknown project type', { apiKey: 'x', type: 'emailish' }, /type/],
      ['an unknown data center', { apiKey: 'x', type: 'hybrid', dataCenter: 'APAC' }, /dataCenter/],
      ['an email-based EU project', { apiKey: 'x', type: 'email', dataCenter: 'EU' }, /US data center/],
      ['a duplicate key', { apiKey: 'us-key', type: 'hybrid' }, /exists/],
      ['a missing key', { type: 'hybrid' }, /apiKey/],
    ])('refuses %s with 400', async (_name, body, message) => {
      const answer = await client.control('POST', '/projects', body);
      expect(answer.status).toBe(400);
      expect(answer.json.error).toMatch(message);
    });

    it('creates lists through /_fake/lists', async () => {
      const created = await client.control('POST', '/lists', { apiKey: 'eu-key', name: 'from-control' });
      expect(created.status).toBe(201);
      const lists = await client.api('eu-key', 'GET', '/eu/api/lists');
      expect(lists.json.lists.map((l: { name: string }) => l.name)).toContain('from-control');
    });

    it('answers JSON 404 for an unknown control route and 400 for bad JSON', async () => {
      expect((await client.control('GET', '/nothing')).status).toBe(404);
      expect((await call(fake.url, 'POST', '/_fake/projects', { body: '{oops' })).status).toBe(400);
    });

    it('reset forgets projects, lists, requests and faults', async () => {
      await client.api('us-key', 'GET', '/api/lists');
      await client.control('PUT', '/faults', { errorRates: { status500: 1 } });
      await client.control('POST', '/reset');
      expect((await client.control('GET', '/projects')).json.projects).toEqual([]);
      expect((await client.control('GET', '/requests')).json.requests).toEqual([]);
      expect((await client.control('GET', '/faults')).json).toEqual({ forced: [] });
      expect((await client.api('us-key', 'GET', '/api/lists')).status).toBe(401);
    });

    it('does not log control requests, only API requests', async () => {
      await client.control('DELETE', '/requests');
      await client.control('GET', '/projects');
      await client.api('us-key', 'GET', '/api/lists');
      const { requests } = (await client.control('GET', '/requests')).json;
      expect(requests.map((r: { apiPath: string }) => r.apiPath)).toEqual(['/api/lists']);
    });
  });

  it('close() ends open keep-alive connections and stops listening', async () => {
    const other = await startFakeIterable();
    const agentReq = await new Promise<number>((resolve, reject) => {
      const req = request(`${other.url}/api/lists`, { headers: { Connection: 'keep-alive' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end();
    });
    expect(agentReq).toBe(401);
    await other.close();
    await expect(call(other.url, 'GET', '/api/lists')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
