import fc from 'fast-check';
import { MembershipChange } from '@audience-bridge/domain';
import { audienceUserKey, coalesce } from './coalesce';

const change = (patch: Partial<MembershipChange>): MembershipChange => ({
  accountId: 1,
  audienceId: 10,
  listId: 100,
  userKey: 'u1',
  action: 'add',
  subscriber: { email: 'u1@example.com' },
  sourceMessageId: 'm1',
  timestampMs: 1000,
  ...patch,
});

describe('coalesce', () => {
  it.each<[string, MembershipChange[], Partial<MembershipChange>[]]>([
    [
      'the newest change wins even when it arrives first',
      [change({ action: 'delete', timestampMs: 2000, sourceMessageId: 'm2' }), change({})],
      [{ action: 'delete', timestampMs: 2000 }],
    ],
    [
      'an older delete arriving late does not undo a newer add',
      [change({ timestampMs: 3000 }), change({ action: 'delete', timestampMs: 2000 })],
      [{ action: 'add', timestampMs: 3000 }],
    ],
    ['on equal timestamps delete wins', [change({ sourceMessageId: 'z' }), change({ action: 'delete', sourceMessageId: 'a' })], [{ action: 'delete' }]],
    ['a duplicated message is counted once', [change({}), change({})], [{ action: 'add' }]],
    ['different lists are kept apart', [change({}), change({ listId: 200 })], [{ listId: 100 }, { listId: 200 }]],
    ['different accounts with the same list id are kept apart', [change({}), change({ accountId: 2 })], [{ accountId: 1 }, { accountId: 2 }]],
    ['different users are kept apart', [change({}), change({ userKey: 'u2' })], [{ userKey: 'u1' }, { userKey: 'u2' }]],
  ])('%s', (_name, input, expected) => {
    expect(coalesce(input)).toEqual(expected.map((e) => expect.objectContaining(e)));
  });

  const arbitraryChange = fc.record({
    accountId: fc.constantFrom(1, 2),
    audienceId: fc.constant(10),
    listId: fc.constantFrom(100, 200),
    userKey: fc.constantFrom('u1', 'u2', 'u3'),
    action: fc.constantFrom('add' as const, 'delete' as const),
    sourceMessageId: fc.constantFrom('m1', 'm2', 'm3', 'm4'),
    timestampMs: fc.integer({ min: 1, max: 5 }),
  });

  it('does not depend on arrival order (property)', () => {
    const changesAndPermutation = fc
      .array(arbitraryChange, { maxLength: 40 })
      .chain((changes) => fc.tuple(fc.constant(changes), fc.shuffledSubarray(changes, { minLength: changes.length, maxLength: changes.length })));
    fc.assert(
      fc.property(changesAndPermutation, ([changes, permuted]) => {
        expect(coalesce(permuted)).toEqual(coalesce(changes));
        expect(coalesce([...changes].reverse())).toEqual(coalesce(changes));
      }),
      { numRuns: 300 },
    );
  });

  it('keeps exactly the maximal change of every (account, list, user) (property)', () => {
    fc.assert(
      fc.property(fc.array(arbitraryChange, { maxLength: 40 }), (changes) => {
        const result = coalesce(changes);
        const keys = new Set(changes.map((c) => `${c.accountId}|${c.listId}|${c.userKey}`));
        expect(result).toHaveLength(keys.size);
        for (const winner of result) {
          const rivals = changes.filter((c) => c.accountId === winner.accountId && c.listId === winner.listId && c.userKey === winner.userKey);
          for (const rival of rivals) {
            expect(rival.timestampMs).toBeLessThanOrEqual(winner.timestampMs);
            if (rival.timestampMs === winner.timestampMs && winner.action === 'add') expect(rival.action).toBe('add');
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('coalesce by audience', () => {
  it('keeps one change per (account, audience, user) when asked to', () => {
    const a = change({ audienceId: 1, listId: 100, timestampMs: 1 });
    const b = change({ audienceId: 1, listId: 200, timestampMs: 2 });
    const c = change({ audienceId: 2, listId: 100, timestampMs: 1 });
    expect(coalesce([a, b, c], audienceUserKey)).toEqual([b, c]);
  });
});
