import { IterableClient } from './iterable.client';
import { IterableError } from './iterable.error';
import type { RunningFakeIterable } from './testing/fake-iterable.harness';
import { rejectionOf, startFakeIterable, testApiKey } from './testing/fake-iterable.harness';

describe('IterableClient.bulkUpdateUsers against the fake Iterable', () => {
  let fake: RunningFakeIterable;
  let client: IterableClient;
  const apiKey = testApiKey('bulk-update');

  beforeAll(async () => {
    fake = await startFakeIterable();
    client = new IterableClient({ apiKey, dataCenter: 'US', baseUrlOverride: fake.url });
  });
  afterAll(async () => {
    client.close();
    await fake.close();
  });

  it('sets typed fields, clears a null one, and answers a verdict per user: a conflicting type is a permanent failure for that user only', async () => {
    const project = fake.state.createProject({ apiKey, type: 'hybrid', dataCenter: 'US' });
    fake.state.seedUsers(project, [{ email: 'old@example.com', dataFields: { ltv: 'high', plan: 'x' } }]);
    const result = await client.bulkUpdateUsers([
      { email: 'ok@example.com', userId: 'u-1', dataFields: { plan: 'gold', vip: true, tags: ['a'] } },
      { email: 'Clash@Example.com', dataFields: { ltv: 42 } },
      { email: 'old@example.com', dataFields: { plan: null } },
    ]);
    expect(result.verdicts.map((v) => [v.subscriber.email, v.outcome])).toEqual([
      ['ok@example.com', { kind: 'delivered' }],
      ['Clash@Example.com', { kind: 'failed', reason: 'invalid data', retryable: false, detail: 'failedUpdates.invalidDataEmails' }],
      ['old@example.com', { kind: 'delivered' }],
    ]);
    expect({ successCount: result.successCount, failCount: result.failCount, countMismatch: result.countMismatch }).toEqual({
      successCount: 2,
      failCount: 1,
      countMismatch: false,
    });
    expect(fake.state.userFields(project, { email: 'ok@example.com' })).toEqual({ plan: 'gold', vip: true, tags: ['a'] });
    expect(fake.state.userFields(project, { email: 'old@example.com' })).toEqual({ ltv: 'high', plan: null });
    expect(fake.state.userFields(project, { email: 'clash@example.com' })).toBeUndefined();
    expect(fake.state.requests.at(-1)?.body).toEqual({
      users: [
        { email: 'ok@example.com', userId: 'u-1', dataFields: { plan: 'gold', vip: true, tags: ['a'] } },
        { email: 'Clash@Example.com', dataFields: { ltv: 42 } },
        { email: 'old@example.com', dataFields: { plan: null } },
      ],
    });
  });

  it('makes no call for no users, and classifies a 429 as retryable', async () => {
    const before = fake.state.requests.length;
    expect((await client.bulkUpdateUsers([])).verdicts).toEqual([]);
    expect(fake.state.requests.length).toBe(before);
    fake.state.setFaults({ forced: [{ path: '/api/users/bulkUpdate', status: 429, retryAfterSeconds: 2 }] });
    const error = await rejectionOf(client.bulkUpdateUsers([{ email: 'x@example.com', dataFields: { a: 1 } }]));
    expect(error).toBeInstanceOf(IterableError);
    expect(error).toMatchObject({ retryable: true, reason: 'rate limited', retryAfterMs: 2000 });
    fake.state.setFaults({});
  });
});
