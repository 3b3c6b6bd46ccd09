import type { KnownMember, MemberContribution, MemberPlan } from './reconcile';
import { planMember } from './reconcile';

const c = (overrides: Partial<MemberContribution> = {}): MemberContribution => ({
  memberKey: 'a@x.io',
  accountId: 1,
  audienceId: 10,
  userKey: 'u1',
  mpid: 'u1',
  action: 'add',
  email: 'a@x.io',
  userId: 'c1',
  timestampMs: 1000,
  sourceMessageId: 'm1',
  ...overrides,
});
const known = (state: KnownMember['state'], overrides: Partial<KnownMember> = {}): KnownMember => ({ email: 'a@x.io', userId: 'c1', state, ...overrides });

describe('planMember: a list holds a member exactly when an audience mapped to it says add', () => {
  it.each<[string, MemberContribution[], KnownMember | undefined, MemberPlan['kind'], Record<string, unknown>?]>([
    ['new add', [c()], undefined, 'subscribe', { subscriber: { email: 'a@x.io', userId: 'c1' } }],
    ['add already in Iterable with the same identity', [c()], known('subscribed'), 'settled'],
    ['add whose userId changed', [c({ userId: 'c2' })], known('subscribed'), 'subscribe', { subscriber: { email: 'a@x.io', userId: 'c2' } }],
    ['add after an answer never seen', [c()], known('unknown'), 'subscribe'],
    ['add after a permanent failure (replay)', [c()], known('failed'), 'subscribe'],
    ['add without a customer id', [c({ userId: null })], undefined, 'subscribe', { subscriber: { email: 'a@x.io' } }],
    [
      'audience A adds, audience B deletes: the list keeps the member',
      [c(), c({ audienceId: 11, action: 'delete', timestampMs: 2000 })],
      known('subscribed'),
      'settled',
    ],
    [
      'two users share the email, one leaves: the member stays',
      [c({ userKey: 'u2', action: 'delete', timestampMs: 5000 }), c()],
      known('subscribed'),
      'settled',
    ],
    [
      'two adds: the newest identity is sent',
      [c({ userId: 'old' }), c({ userKey: 'u2', userId: 'new', timestampMs: 2000 })],
      undefined,
      'subscribe',
      { subscriber: { email: 'a@x.io', userId: 'new' } },
    ],
    [
      'delete of a member Iterable has: its stored identity leaves',
      [c({ action: 'delete', userId: null })],
      known('subscribed'),
      'unsubscribe',
      { subscriber: { email: 'a@x.io', userId: 'c1' } },
    ],
    ['delete of a member never sent: unsubscribed anyway', [c({ action: 'delete' })], undefined, 'unsubscribe'],
    ['delete of a member already removed', [c({ action: 'delete' })], known('unsubscribed'), 'settled'],
    ['delete after a permanent failure: nothing to undo', [c({ action: 'delete' })], known('failed'), 'settled'],
    ['identity changed: the old email is named by no row any more', [], known('subscribed'), 'unsubscribe', { subscriber: { email: 'a@x.io', userId: 'c1' } }],
    ['old identity never reached Iterable', [], undefined, 'settled'],
  ])('%s', (_name, contributions, member, kind, extra = {}) => {
    const plan = planMember(contributions, member);
    expect(plan.kind).toBe(kind);
    expect(plan).toMatchObject(extra);
  });

  it('does not depend on the order of the contributions', () => {
    const rows = [
      c({ userId: 'a', timestampMs: 1 }),
      c({ userKey: 'u2', userId: 'b', timestampMs: 3 }),
      c({ userKey: 'u3', action: 'delete', timestampMs: 5 }),
      c({ userKey: 'u4', userId: 'd', timestampMs: 3, sourceMessageId: 'm2' }),
    ];
    const plans = [rows, [...rows].reverse(), [rows[2], rows[0], rows[3], rows[1]]].map((r) => planMember(r as MemberContribution[], undefined));
    expect(plans[1]).toEqual(plans[0]);
    expect(plans[2]).toEqual(plans[0]);
    expect(plans[0]).toMatchObject({ kind: 'subscribe', subscriber: { userId: 'd' } });
  });
});
