import { resolveBaseUrl } from './base-url.util';

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
