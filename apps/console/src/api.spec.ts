import { ApiError, describeError, query, request, tokenStore } from './api';
import { installFakeFetch } from './testing/fake-fetch';

describe('request', () => {
  beforeEach(() => sessionStorage.clear());

  it('sends the stored token as a Bearer header, never in the URL', async () => {
    tokenStore.set('admin-token-0123456789');
    const calls = installFakeFetch(() => ({ status: 200, body: { pending: 0 } }));
    await expect(request('/v1/stats')).resolves.toEqual({ pending: 0 });
    expect(calls).toHaveLength(1);
    expect(calls[0].headers['authorization']).toBe('Bearer admin-token-0123456789');
    expect(calls[0].url).not.toContain('admin-token');
  });

  it('refuses to call without a token', async () => {
    const calls = installFakeFetch(() => ({ status: 200 }));
    await expect(request('/v1/stats')).rejects.toMatchObject({ status: 401 });
    expect(calls).toHaveLength(0);
  });

  it('turns an unreachable API into a sentence with no status', async () => {
    tokenStore.set('t');
    (globalThis as { fetch: unknown }).fetch = () => Promise.reject(new TypeError('Failed to fetch'));
    const error = await request('/v1/connections', { what: 'Loading the connections' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({
      status: null,
      message: 'Loading the connections failed: the API did not answer. Is it running? The console keeps retrying.',
    });
  });

  it('sends JSON bodies', async () => {
    tokenStore.set('t');
    const calls = installFakeFetch(() => ({ status: 200, body: { requeued: 2, lists: 1 } }));
    await request('/v1/replay', { method: 'POST', body: { accountId: 1, preview: true } });
    expect(calls[0]).toMatchObject({ method: 'POST', body: { accountId: 1, preview: true } });
    expect(calls[0].headers['content-type']).toBe('application/json');
  });
});

describe('describeError', () => {
  it.each([
    [401, {}, 'The admin token was refused. Sign in again with the ADMIN_TOKEN the API was started with.'],
    [404, { message: 'account 9 not found' }, 'Not found: account 9 not found.'],
    [400, { message: ['limit must not be greater than 500'] }, 'Loading was refused (400): limit must not be greater than 500.'],
    [503, { message: 'redis: down' }, 'Loading failed: the API says a dependency is down (redis: down). It retries by itself; see /health/ready.'],
    [500, { errorId: 'e-42' }, "Loading failed: the API answered 500. Quote error id e-42 to whoever reads the API's logs."],
  ])('%p reads as a sentence', (status, body, text) => {
    expect(describeError(status, body, 'Loading')).toBe(text);
  });
});

describe('query', () => {
  it('keeps defined values only', () => {
    expect(query({ a: 1, b: undefined, c: '', d: null, e: 'x y' })).toBe('?a=1&e=x+y');
    expect(query({})).toBe('');
  });
});
