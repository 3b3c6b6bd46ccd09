import type { RetryDelayInput } from './retry-backoff.util';
import { retryDelayMs } from './retry-backoff.util';

describe('retryDelayMs', () => {
  it.each<[string, RetryDelayInput, number]>([
    ['Retry-After wins', { attempt: 5, retryAfterMs: 1500 }, 1500],
    ['Retry-After 0 waits the floor (the base delay)', { attempt: 1, retryAfterMs: 0 }, 1000],
    ['attempt 1, no jitter', { attempt: 1, random: () => 0 }, 500],
    ['attempt 1, full jitter', { attempt: 1, random: () => 0.999999 }, 1000],
    ['attempt 3', { attempt: 3, random: () => 0.5 }, 3000],
    ['capped at max', { attempt: 30, maxMs: 10_000, random: () => 0 }, 5000],
    ['custom base', { attempt: 2, baseMs: 50, random: () => 0 }, 50],
  ])('%s', (_name, input, expected) => {
    expect(retryDelayMs(input)).toBe(expected);
  });
});
