import { supersedes } from './membership-change';

describe('supersedes (newest wins)', () => {
  const base = { timestampMs: 1000, action: 'add' as const, sourceMessageId: 'm-1' };

  it.each([
    ['a later timestamp wins', { ...base, timestampMs: 1001 }, base, true],
    ['an earlier timestamp loses, whatever the action', { ...base, timestampMs: 999, action: 'delete' as const }, base, false],
    ['a later add beats an earlier delete', { ...base, timestampMs: 1001 }, { ...base, action: 'delete' as const }, true],
    ['on a tie delete beats add', { ...base, action: 'delete' as const }, base, true],
    ['on a tie add loses to delete', base, { ...base, action: 'delete' as const }, false],
    ['on a tie of action the greater message id wins', { ...base, sourceMessageId: 'm-2' }, base, true],
    ['on a tie of action the smaller message id loses', base, { ...base, sourceMessageId: 'm-2' }, false],
    ['the same message again changes nothing', base, { ...base }, false],
  ])('%s', (_name, candidate, current, expected) => {
    expect(supersedes(candidate, current)).toBe(expected);
  });

  it('is a strict order: of two different changes exactly one supersedes the other', () => {
    const changes = [1000, 1001].flatMap((timestampMs) =>
      (['add', 'delete'] as const).flatMap((action) => ['a', 'b'].map((sourceMessageId) => ({ timestampMs, action, sourceMessageId }))),
    );
    for (const a of changes) {
      for (const b of changes) {
        if (a === b) continue;
        expect(Number(supersedes(a, b)) + Number(supersedes(b, a))).toBe(1);
      }
    }
  });
});
