import type { RunningFakeIterable } from './fake-iterable.server';
import { startFakeIterable } from './fake-iterable.server';
import { fakeClient } from './testing/http-call';

describe('fake Iterable: fault injection, concurrency and the request log', () => {
  let fake: RunningFakeIterable;
  let client: ReturnType<typeof fakeClient>;
  let listId: number;
  const subscribe = (key = 'k') => client.api(key, 'POST', '/api/lists/subscribe', { listId, subscribers: [{ email: 'a@x.io' }] });

  beforeAll(async () => {
    fake = await startFakeIterable();
    client = fakeClient(fake.url);
  });
  afterAll(() => fake.close());
  beforeEach(async () => {
    await client.control('POST', '/reset');
    listId = (await client.project('k', 'hybrid')).lists[0].id;
    await client.project('k2', 'hybrid');
  });

  const setFaults = async (faults: unknown) => {
    const answer = await client.control('PUT', '/faults', faults);
    expect(answer.status).toBe(200);
  };

  describe('rate limit', () => {
    it.each<[string, { retryAfterSeconds?: number; retryAfterFormat?: string }, RegExp | undefined]>([
      ['without Retry-After', {}, undefined],
      ['with Retry-After in seconds', { retryAfterSeconds: 3 }, /^3$/],
      ['with Retry-After as an HTTP-date', { retryAfterSeconds: 3, retryAfterFormat: 'http-date' }, /^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/],
    ])('answers 429 RateLimitExceeded past N per second per key, %s', async (_name, extra, retryAfter) => {
      await setFaults({ rateLimit: { requestsPerSecond: 3, ...extra } });
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await subscribe()).status);
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      const limited = await subscribe();
      expect(limited.json).toEqual({
        msg: expect.stringMatching(/^Exceeded rate limit for endpoint: \/api\/lists\/subscribe, project: \d+$/),
        code: 'RateLimitExceeded',
        params: {},
      });
      if (retryAfter) expect(limited.headers['retry-after']).toMatch(retryAfter);
      else expect(limited.headers['retry-after']).toBeUndefined();
      if (retryAfter && extra.retryAfterFormat === 'http-date') {
        const seconds = (Date.parse(limited.headers['retry-after'] as string) - Date.now()) / 1000;
        expect(seconds).toBeGreaterThan(1);
        expect(seconds).toBeLessThanOrEqual(3);
      }
      // Another key has its own budget.
      expect((await client.api('k2', 'GET', '/api/lists')).status).toBe(200);
      expect((await client.control('GET', '/stats')).json.keys.k.rateLimited).toBe(3);
    });

    it('lets requests through again once the sliding second has passed, and can limit chosen paths only', async () => {
      await setFaults({ rateLimit: { requestsPerSecond: 2, paths: ['/api/lists/subscribe'] } });
      await subscribe();
      await subscribe();
      expect((await subscribe()).status).toBe(429);
      expect((await client.api('k', 'GET', '/api/lists')).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 1050));
      expect((await subscribe()).status).toBe(200);
    });
  });

  describe('forced faults', () => {
    it('the next 2 subscribe calls answer 429 with Retry-After 1, then normal answers resume', async () => {
      await setFaults({ forced: [{ path: '/api/lists/subscribe', status: 429, retryAfterSeconds: 1, times: 2 }] });
      expect((await client.api('k', 'GET', '/api/lists')).status).toBe(200);
      const first = await subscribe();
      const second = await subscribe();
      const third = await subscribe();
      expect([first.status, second.status, third.status]).toEqual([429, 429, 200]);
      expect(first.headers['retry-after']).toBe('1');
      expect(first.json.code).toBe('RateLimitExceeded');
      expect((await client.control('GET', '/faults')).json.forced).toEqual([]);
    });

    it.each([
      [500, 'GenericError'],
      [503, 'GenericError'],
      [413, 'BatchTooLarge'],
      [401, 'BadApiKey'],
      [400, 'BadParams'],
    ])("a forced %s answers Iterable's body for it", async (status, code) => {
      await setFaults({ forced: [{ status }] });
      const answer = await subscribe();
      expect(answer.status).toBe(status);
      expect(answer.json.code).toBe(code);
    });

    it('a forced answer can carry any body, content type and headers', async () => {
      await setFaults({
        forced: [
          { status: 500, body: { msg: 'error.lists.invalidListId(5)', code: 'Success', params: null } },
          { status: 502, body: '<html>bad gateway</html>', contentType: 'text/html', headers: { 'X-Test': 'yes' } },
        ],
      });
      expect((await subscribe()).json).toEqual({ msg: 'error.lists.invalidListId(5)', code: 'Success', params: null });
      const html = await subscribe();
      expect([html.status, html.text, html.headers['content-type'], html.headers['x-test']]).toEqual([502, '<html>bad gateway</html>', 'text/html', 'yes']);
    });

    it('matches on method and API key, and on the path without the EU prefix', async () => {
      await client.project('eu', 'userId', 'EU');
      await setFaults({ forced: [{ method: 'GET', apiKey: 'eu', path: '/api/lists', status: 503 }] });
      expect((await client.api('k', 'GET', '/api/lists')).status).toBe(200);
      expect((await client.api('eu', 'POST', '/eu/api/lists', { name: 'x' })).status).toBe(200);
      expect((await client.api('eu', 'GET', '/eu/api/lists')).status).toBe(503);
    });

    it('bodyContains aims a fault at the calls that carry one user, whatever else they carry', async () => {
      await setFaults({ forced: [{ path: '/api/lists/subscribe', bodyContains: '"b@x.io"', status: 409, times: 2 }] });
      const send = (emails: string[]) => client.api('k', 'POST', '/api/lists/subscribe', { listId, subscribers: emails.map((email) => ({ email })) });
      expect((await send(['a@x.io', 'b@x.io'])).status).toBe(409);
      expect((await send(['a@x.io'])).status).toBe(200);
      expect((await send(['b@x.io'])).status).toBe(409);
      expect((await send(['b@x.io'])).status).toBe(200);
    });

    it('a forced reset destroys the connection', async () => {
      await setFaults({ forced: [{ reset: true }] });
      await expect(subscribe()).rejects.toMatchObject({ code: expect.stringMatching(/ECONNRESET|socket hang up/) });
      expect((await subscribe()).status).toBe(200);
      const log = (await client.control('GET', '/requests')).json.requests;
      expect(log[0]).toMatchObject({ status: null, fault: 'forced reset' });
    });

    it('a forced delay slows one answer that is otherwise normal', async () => {
      await setFaults({ forced: [{ delayMs: 250 }] });
      let started = Date.now();
      expect((await subscribe()).status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(240);
      started = Date.now();
      await subscribe();
      expect(Date.now() - started).toBeLessThan(200);
    });

    it('refuses an invalid fault configuration with 400 and keeps the previous one', async () => {
      await setFaults({ errorRates: { status500: 1 } });
      const refused = await client.control('PUT', '/faults', { resetRate: 2 });
      expect(refused.status).toBe(400);
      expect(refused.json.error).toMatch(/resetRate/);
      expect((await subscribe()).status).toBe(500);
      await client.control('DELETE', '/faults');
      expect((await subscribe()).status).toBe(200);
    });
  });

  describe('probabilistic faults', () => {
    it.each([
      [{ errorRates: { status500: 1 } }, 500, 'GenericError'],
      [{ errorRates: { status503: 1 } }, 503, 'GenericError'],
    ])('%j answers every request with its error', async (faults, status, code) => {
      await setFaults(faults);
      for (let i = 0; i < 3; i++) {
        const answer = await subscribe();
        expect(answer.status).toBe(status);
        expect(answer.json.code).toBe(code);
      }
    });

    it('a seed makes a chaos run repeatable', async () => {
      const run = async () => {
        await setFaults({ seed: 1234, errorRates: { status500: 0.3, status503: 0.3 } });
        const statuses = [];
        for (let i = 0; i < 20; i++) statuses.push((await subscribe()).status);
        return statuses;
      };
      const first = await run();
      expect(await run()).toEqual(first);
      expect(new Set(first)).toEqual(new Set([200, 500, 503]));
    });

    it('resetRate 1 destroys every connection', async () => {
      await setFaults({ resetRate: 1 });
      await expect(subscribe()).rejects.toMatchObject({ code: expect.stringMatching(/ECONNRESET/) });
    });

    it('slow answers are delayed by delayMs for the given fraction', async () => {
      await setFaults({ slow: { delayMs: 200, fraction: 1 } });
      const started = Date.now();
      expect((await subscribe()).status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(190);
      await setFaults({ slow: { delayMs: 200, fraction: 0 } });
      const fast = Date.now();
      await subscribe();
      expect(Date.now() - fast).toBeLessThan(150);
    });
  });

  it('counts in-flight requests per key and keeps the maximum seen', async () => {
    await setFaults({ slow: { delayMs: 200 } });
    await Promise.all([subscribe(), subscribe(), subscribe(), subscribe(), subscribe('k2')]);
    const { keys } = (await client.control('GET', '/stats')).json;
    expect(keys.k).toEqual({ requests: 4, inFlight: 0, maxInFlight: 4, rateLimited: 0 });
    expect(keys.k2).toMatchObject({ requests: 1, maxInFlight: 1 });
    const cleared = (await client.control('DELETE', '/stats')).json.keys;
    expect(cleared.k).toEqual({ requests: 0, inFlight: 0, maxInFlight: 0, rateLimited: 0 });
    await Promise.all([subscribe(), subscribe()]);
    expect((await client.control('GET', '/stats')).json.keys.k.maxInFlight).toBe(2);
  });

  it('logs every API request with time, method, path, key, body, status and response; filters and clears', async () => {
    const before = Date.now();
    await subscribe();
    await client.api('k', 'GET', '/api/lists?x=1');
    await client.api('nope', 'GET', '/api/lists');
    const all = (await client.control('GET', '/requests')).json.requests;
    expect(all).toHaveLength(3);
    expect(all[0]).toMatchObject({
      method: 'POST',
      path: '/api/lists/subscribe',
      apiPath: '/api/lists/subscribe',
      dataCenter: 'US',
      apiKey: 'k',
      body: { listId, subscribers: [{ email: 'a@x.io' }] },
      status: 200,
      response: { successCount: 1, failCount: 0 },
      durationMs: expect.any(Number),
    });
    expect(Date.parse(all[0].time)).toBeGreaterThanOrEqual(before - 1);
    expect(all[1]).toMatchObject({ method: 'GET', path: '/api/lists?x=1', status: 200 });
    expect(all[2]).toMatchObject({ apiKey: 'nope', status: 401, response: { code: 'BadApiKey' } });
    const filtered = (await client.control('GET', '/requests?path=/api/lists&method=get')).json.requests;
    expect(filtered).toHaveLength(2);
    await client.control('DELETE', '/requests');
    expect((await client.control('GET', '/requests')).json.requests).toEqual([]);
  });

  it('caps the request log at maxLoggedRequests', async () => {
    await client.control('PUT', '/config', { maxLoggedRequests: 2 });
    for (let i = 0; i < 4; i++) await client.api('k', 'GET', `/api/lists?i=${i}`);
    const paths = (await client.control('GET', '/requests')).json.requests.map((r: { path: string }) => r.path);
    expect(paths).toEqual(['/api/lists?i=2', '/api/lists?i=3']);
    expect((await client.control('PUT', '/config', { maxLoggedRequests: 0 })).status).toBe(400);
  });
});
