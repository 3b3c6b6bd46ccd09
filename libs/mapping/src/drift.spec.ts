import { driftKeyOfLine, driftVerdict, newestAdd, repairMemberOf, USER_ID_MEMBER_PREFIX } from './drift';

describe('driftVerdict', () => {
  it.each([
    ['on the list and desired', { onList: true, desired: true, inFlight: false, refused: false }, 'match'],
    ['neither', { onList: false, desired: false, inFlight: true, refused: false }, 'match'],
    ['desired, not on the list', { onList: false, desired: true, inFlight: false, refused: false }, 'missing'],
    ['on the list, not desired', { onList: true, desired: false, inFlight: false, refused: false }, 'extra'],
    ['desired, not on the list, a change in flight', { onList: false, desired: true, inFlight: true, refused: false }, 'left out'],
    ['on the list, not desired, a change in flight', { onList: true, desired: false, inFlight: true, refused: true }, 'left out'],
    ['desired, refused by Iterable for good', { onList: false, desired: true, inFlight: false, refused: true }, 'refused'],
    ['on the list, not desired, once refused', { onList: true, desired: false, inFlight: false, refused: true }, 'extra'],
  ] as const)('%s → %s', (_name, facts, verdict) => {
    expect(driftVerdict(facts)).toBe(verdict);
  });
});

describe('driftKeyOfLine', () => {
  it.each([
    [' Jane@Example.COM ', 'email', 'jane@example.com'],
    ['Cust-42', 'userId', 'Cust-42'],
    [' a@b.io', 'userId', 'a@b.io'],
  ] as const)('%j as %s → %j', (line, kind, key) => {
    expect(driftKeyOfLine(line, kind)).toBe(key);
  });
});

describe('newestAdd', () => {
  it('picks the greatest timestamp, then the greater message id, as planMember does', () => {
    const adds = [
      { userId: 'a', timestampMs: 5, sourceMessageId: 'm1' },
      { userId: 'b', timestampMs: 7, sourceMessageId: 'm0' },
      { userId: 'c', timestampMs: 7, sourceMessageId: 'm2' },
    ];
    expect(newestAdd(adds)?.userId).toBe('c');
    expect(newestAdd([])).toBeUndefined();
  });
});

describe('repairMemberOf', () => {
  it.each([
    ['an email', 'Jane@x.io', 'email', undefined, { memberKey: 'jane@x.io', email: 'jane@x.io', userId: null }],
    ['a userId known by its email', 'u-1', 'userId', 'jane@x.io', { memberKey: 'jane@x.io', email: 'jane@x.io', userId: 'u-1' }],
    ['a userId nobody knows', 'u-9', 'userId', undefined, { memberKey: `${USER_ID_MEMBER_PREFIX}u-9`, email: '', userId: 'u-9' }],
    ['an email in a userId read (a user without userId)', 'solo@x.io', 'userId', undefined, { memberKey: 'solo@x.io', email: 'solo@x.io', userId: null }],
  ] as const)('%s', (_name, key, kind, known, member) => {
    expect(repairMemberOf(key, kind, known)).toEqual(member);
  });
});
