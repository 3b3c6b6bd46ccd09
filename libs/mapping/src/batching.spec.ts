import fc from 'fast-check';
import { Subscriber } from '@audience-bridge/domain';
import { MAX_REQUEST_BYTES, MAX_SUBSCRIBERS_PER_CALL, batchBySize, batchSubscribers } from './batching';

const bodyBytes = (listId: number, subscribers: Subscriber[]) =>
  Buffer.byteLength(JSON.stringify({ listId, subscribers, channelUnsubscribe: false, updateExistingUsersOnly: false }));

const subscribers = (n: number): Subscriber[] => Array.from({ length: n }, (_, i) => ({ email: `user${i}@example.com`, userId: String(i) }));

describe('batchSubscribers', () => {
  it.each([
    [0, []],
    [1, [1]],
    [1000, [1000]],
    [1001, [1000, 1]],
    [2500, [1000, 1000, 500]],
  ])('splits %i subscribers into batches of %j', (n, sizes) => {
    expect(batchSubscribers(42, subscribers(n)).batches.map((b) => b.length)).toEqual(sizes);
  });

  it('splits by bytes before 1000 when subscribers are large, each body under 4 MB', () => {
    const big = Array.from({ length: 1000 }, (_, i) => ({ email: `u${i}@example.com`, dataFields: { blob: 'x'.repeat(10_000) } }));
    const { batches } = batchSubscribers(42, big);
    expect(batches.length).toBeGreaterThan(2);
    for (const batch of batches) expect(bodyBytes(42, batch)).toBeLessThan(MAX_REQUEST_BYTES);
    expect(batches.flat()).toEqual(big);
  });

  it('sets aside a subscriber that alone is too large to send', () => {
    const huge = { email: 'huge@example.com', dataFields: { blob: 'x'.repeat(MAX_REQUEST_BYTES) } };
    const { batches, oversized } = batchSubscribers(1, [{ email: 'a@example.com' }, huge]);
    expect(oversized).toEqual([huge]);
    expect(batches).toEqual([[{ email: 'a@example.com' }]]);
  });

  it('respects both limits, keeps every item once and in order (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ maxLength: 300 }), { maxLength: 400 }),
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 200, max: 5000 }),
        (payloads, maxItems, maxBytes) => {
          const items = payloads.map((p, i) => ({ email: `${i}@example.com`, userId: p }));
          const envelope = 30;
          const size = (s: Subscriber) => Buffer.byteLength(JSON.stringify(s));
          const { batches, oversized } = batchBySize(items, size, envelope, { maxItems, maxBytes });
          for (const batch of batches) {
            expect(batch.length).toBeGreaterThan(0);
            expect(batch.length).toBeLessThanOrEqual(maxItems);
            expect(envelope + batch.reduce((n, s) => n + size(s), 0) + batch.length - 1).toBeLessThan(maxBytes);
          }
          for (const item of oversized) expect(envelope + size(item)).toBeGreaterThanOrEqual(maxBytes);
          const kept = new Set([...batches.flat(), ...oversized]);
          expect(kept.size).toBe(items.length);
          expect(batches.flat()).toEqual(items.filter((i) => !oversized.includes(i)));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('uses full batches of 1000 under backlog', () => {
    const { batches } = batchSubscribers(7, subscribers(10_000));
    expect(batches).toHaveLength(10);
    expect(batches.every((b) => b.length === MAX_SUBSCRIBERS_PER_CALL && bodyBytes(7, b) < MAX_REQUEST_BYTES)).toBe(true);
  });
});
