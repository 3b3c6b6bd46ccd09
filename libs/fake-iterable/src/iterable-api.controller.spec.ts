import { matchApiRoute, splitDataCenter } from './iterable-api.controller';

describe('splitDataCenter', () => {
  it.each([
    ['/api/lists', 'US', '/api/lists'],
    ['/eu/api/lists', 'EU', '/api/lists'],
    ['/eu', 'EU', '/'],
    ['/europe/api/lists', 'US', '/europe/api/lists'],
  ])('%s → %s %s', (path, dataCenter, apiPath) => {
    expect(splitDataCenter(path)).toEqual({ dataCenter, apiPath });
  });
});

describe('matchApiRoute', () => {
  it.each([
    ['GET', '/api/lists', { route: 'getLists' }],
    ['POST', '/api/lists', { route: 'createList' }],
    ['POST', '/api/lists/', { route: 'createList' }],
    ['DELETE', '/api/lists/123', { route: 'deleteList', listId: 123 }],
    ['GET', '/api/lists/getUsers', { route: 'getUsers' }],
    ['GET', '/api/lists/77/size', { route: 'listSize', listId: 77 }],
    ['POST', '/api/lists/subscribe', { route: 'subscribe' }],
    ['post', '/api/lists/unsubscribe', { route: 'unsubscribe' }],
    ['POST', '/api/users/forget', { route: 'forget' }],
    ['GET', '/api/users/forget', undefined],
    ['GET', '/api/lists/subscribe', undefined],
    ['PUT', '/api/lists', undefined],
    ['DELETE', '/api/lists/abc', undefined],
    ['POST', '/api/users/update', undefined],
    ['GET', '/', undefined],
  ])('%s %s', (method, path, expected) => {
    expect(matchApiRoute(method, path)).toEqual(expected);
  });
  it('trims a long run of slashes in linear time (no backtracking pattern)', () => {
    const started = performance.now();
    expect(matchApiRoute('GET', `/api/lists${'/'.repeat(50_000)}x${'/'.repeat(50_000)}`)).toBeUndefined();
    expect(matchApiRoute('GET', `/api/lists${'/'.repeat(100_000)}`)).toEqual({ route: 'getLists' });
    expect(performance.now() - started).toBeLessThan(100);
  });
});
