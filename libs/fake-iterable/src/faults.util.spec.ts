import { forcedFaultMatches, normalizeFaultConfig, retryAfterHeader, seededRandom, validateFaultConfig } from './faults.util';

describe('seededRandom', () => {
  it('replays the same sequence for the same seed and differs for another', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const c = seededRandom(43);
    const seqA = Array.from({ length: 5 }, a);
    expect(Array.from({ length: 5 }, b)).toEqual(seqA);
    expect(Array.from({ length: 5 }, c)).not.toEqual(seqA);
    expect(seqA.every((x) => x >= 0 && x < 1)).toBe(true);
  });

  it('is roughly uniform', () => {
    const next = seededRandom(7);
    const below = Array.from({ length: 10_000 }, next).filter((x) => x < 0.3).length;
    expect(below / 10_000).toBeGreaterThan(0.27);
    expect(below / 10_000).toBeLessThan(0.33);
  });
});

describe('retryAfterHeader', () => {
  const now = Date.UTC(2026, 0, 2, 3, 4, 5);
  it.each([
    ['seconds', 2, 'seconds' as const, '2'],
    ['default format', 7, undefined, '7'],
    ['HTTP-date', 2, 'http-date' as const, 'Fri, 02 Jan 2026 03:04:07 GMT'],
  ])('%s', (_name, seconds, format, expected) => {
    expect(retryAfterHeader(seconds, format, now)).toBe(expected);
  });
});

describe('forcedFaultMatches', () => {
  const request = { method: 'POST', apiPath: '/api/lists/subscribe', apiKey: 'k1' };
  it.each([
    ['no filter', {}, true],
    ['same path', { path: '/api/lists/subscribe' }, true],
    ['other path', { path: '/api/lists/unsubscribe' }, false],
    ['method, any case', { method: 'post' }, true],
    ['other method', { method: 'GET' }, false],
    ['same key', { apiKey: 'k1' }, true],
    ['other key', { apiKey: 'k2' }, false],
    ['a body carrying the text', { bodyContains: 'b@x.io' }, true],
    ['a body without it', { bodyContains: 'c@x.io' }, false],
  ])('%s → %s', (_name, fault, expected) => {
    expect(forcedFaultMatches(fault, { ...request, body: '{"listId":1,"subscribers":[{"email":"a@x.io"},{"email":"b@x.io"}]}' })).toBe(expected);
  });
});

describe('validateFaultConfig', () => {
  it.each([
    ['empty', {}, []],
    [
      'a full valid config',
      {
        seed: 1,
        rateLimit: { requestsPerSecond: 5, retryAfterSeconds: 1 },
        errorRates: { status500: 0.1 },
        resetRate: 0,
        slow: { delayMs: 10 },
        forced: [{ status: 429 }],
      },
      [],
    ],
    ['not an object', [], ['the fault configuration must be a JSON object']],
    ['a zero rate', { rateLimit: { requestsPerSecond: 0 } }, ['rateLimit.requestsPerSecond must be a positive number']],
    [
      'a bad Retry-After format',
      { rateLimit: { requestsPerSecond: 1, retryAfterFormat: 'minutes' } },
      ['rateLimit.retryAfterFormat must be "seconds" or "http-date"'],
    ],
    ['a rate above 1', { errorRates: { status503: 1.5 } }, ['errorRates.status503 must be within 0..1']],
    ['a negative reset rate', { resetRate: -0.1 }, ['resetRate must be within 0..1']],
    ['slow without delay', { slow: {} }, ['slow.delayMs must be a non-negative number']],
    ['a forced fault that does nothing', { forced: [{ times: 2 }] }, ['forced[0] needs status, reset, delayMs, truncateBodyAtChars or dropFinalNewline']],
    ['a forced fault with a bad status', { forced: [{ status: 42 }] }, ['forced[0].status must be an HTTP status']],
    ['a forced fault with zero times', { forced: [{ status: 500, times: 0 }] }, ['forced[0].times must be a positive integer']],
    ['a forced fault with a bodyContains that is no string', { forced: [{ status: 409, bodyContains: 5 }] }, ['forced[0].bodyContains must be a string']],
  ])('%s', (_name, input, expected) => {
    expect(validateFaultConfig(input)).toEqual(expected);
  });

  it('gives forced faults a default of one time', () => {
    expect(normalizeFaultConfig({ forced: [{ status: 500 }, { status: 503, times: 3 }] }).forced).toEqual([
      { status: 500, times: 1 },
      { status: 503, times: 3 },
    ]);
  });
});
