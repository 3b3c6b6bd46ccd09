import { IterableClient } from '@audience-bridge/iterable-client';

/**
 * An Iterable client on the fake Iterable at `baseUrl` (US, 1 s timeout) whose rate limiter is `waiting`: a test
 * decides what happens while a call waits for its slot (run something, or throw what the limiter would).
 */
export function clientOnFake(baseUrl: string, apiKey: string, waiting: () => Promise<void>): IterableClient {
  return new IterableClient({
    apiKey,
    dataCenter: 'US',
    baseUrlOverride: baseUrl,
    timeoutMs: 1000,
    rateLimiter: {
      acquire: async () => {
        await waiting();
        return { release: async () => undefined };
      },
    },
  });
}
