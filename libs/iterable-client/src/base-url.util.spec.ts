import { resolveBaseUrl, trimTrailingSlashes } from './base-url.util';

describe('resolveBaseUrl', () => {
  it.each([
    ['US, no override', 'US', undefined, 'https://api.iterable.com'],
    ['EU, no override', 'EU', undefined, 'https://api.eu.iterable.com'],
    ['US, empty override', 'US', '  ', 'https://api.iterable.com'],
    ['US, the fake', 'US', 'http://127.0.0.1:4010', 'http://127.0.0.1:4010'],
    ['EU, the fake: /eu appended', 'EU', 'http://127.0.0.1:4010', 'http://127.0.0.1:4010/eu'],
    ['trailing slashes trimmed', 'EU', 'http://fake:4010//', 'http://fake:4010/eu'],
    ['per-DC object, EU named', 'EU', { EU: 'https://proxy.example/eu-api/' }, 'https://proxy.example/eu-api'],
    ['per-DC object, US not named', 'US', { EU: 'https://proxy.example/eu-api' }, 'https://api.iterable.com'],
  ] as const)('%s', (_name, dataCenter, override, expected) => {
    expect(resolveBaseUrl(dataCenter, override)).toBe(expected);
  });
});

describe('trimTrailingSlashes', () => {
  it.each([
    ['none', 'http://a', 'http://a'],
    ['some', 'http://a///', 'http://a'],
    ['only slashes', '///', ''],
  ])('%s', (_name, url, expected) => {
    expect(trimTrailingSlashes(url)).toBe(expected);
  });

  it('is linear on a long run of slashes that does not end the URL', () => {
    const started = performance.now();
    expect(trimTrailingSlashes(`http://a${'/'.repeat(100_000)}b`)).toHaveLength(100_009);
    expect(performance.now() - started).toBeLessThan(100);
  });
});
