import { generateHistory, History, HistoryEvent } from './history';
import { expectedState, identityOf } from './model';

// The reference model on its own: small hand-made histories with the answer worked out from README's rules.
const account = { accountId: 1, mode: 'customerId' as const, apiKey: 'k', revokedKey: 'r', rotatedAt: 0, lists: ['A', 'B'] };
const history = (events: HistoryEvent[]): History => ({
  seed: 0,
  accounts: [account],
  events,
  delivery: [events.map((_, i) => i)],
  faults: { iterableErrorRate: 0, throttle: false, killWorkerAtStep: null },
});
const sub = (at: number, audienceId: number, list: string, action: 'add' | 'update' = 'add'): HistoryEvent => ({
  kind: 'subscription',
  id: `s${at}`,
  accountId: 1,
  at,
  apiKey: 'k',
  audienceId,
  list,
  action,
});
const change = (at: number, mpid: string, email: string, audienceId: number, list: string, action: 'add' | 'delete'): HistoryEvent => ({
  kind: 'membership',
  id: `m${at}`,
  accountId: 1,
  at,
  apiKey: 'k',
  profiles: [{ mpid, email, customerId: `c${mpid}`, audiences: [{ audienceId, list, action }] }],
});
const lists = (h: History, acknowledged = h.events.map((_, i) => i)) =>
  Object.fromEntries([...expectedState(h, new Set(acknowledged)).lists].map(([l, m]) => [l, [...m].map(([e, id]) => `${e}|${id}`).sort()]));

describe('the reference model', () => {
  it.each([
    ['an add', [sub(1, 1, 'A'), change(2, '1', 'a@x.io', 1, 'A', 'add')], { A: ['a@x.io|c1'], B: [] }],
    [
      'newest wins whatever the arrival order',
      [sub(1, 1, 'A'), change(5, '1', 'a@x.io', 1, 'A', 'delete'), change(3, '1', 'a@x.io', 1, 'A', 'add')],
      { A: [], B: [] },
    ],
    [
      'the union of audiences: one leaving keeps the member another adds',
      [
        sub(1, 1, 'A'),
        sub(2, 2, 'A'),
        change(3, '1', 'a@x.io', 1, 'A', 'add'),
        change(4, '2', 'a@x.io', 2, 'A', 'add'),
        change(5, '1', 'a@x.io', 1, 'A', 'delete'),
      ],
      { A: ['a@x.io|c2'], B: [] },
    ],
    ['a list move takes the members along', [sub(1, 1, 'A'), change(2, '1', 'a@x.io', 1, 'A', 'add'), sub(3, 1, 'B', 'update')], { A: [], B: ['a@x.io|c1'] }],
    [
      'an older message naming the old list does not move it back',
      [sub(1, 1, 'A'), sub(3, 1, 'B', 'update'), change(2, '1', 'a@x.io', 1, 'A', 'add')],
      { A: [], B: ['a@x.io|c1'] },
    ],
    [
      'an identity change: the old email leaves',
      [sub(1, 1, 'A'), change(2, '1', 'old@x.io', 1, 'A', 'add'), change(3, '1', 'new@x.io', 1, 'A', 'add')],
      { A: ['new@x.io|c1'], B: [] },
    ],
    ['a malformed listId still counts on the list in force', [sub(1, 1, 'A'), change(2, '1', 'a@x.io', 1, 'malformed', 'add')], { A: ['a@x.io|c1'], B: [] }],
  ])('%s', (_name, events, want) => {
    expect(lists(history(events))).toEqual(want);
  });

  it('an erasure: older changes of the subject count for nothing, newer ones are refused by Iterable (forgotten)', () => {
    const erase = (at: number): HistoryEvent => ({
      kind: 'erasure',
      id: `e${at}`,
      accountId: 1,
      at,
      apiKey: 'k',
      requestId: 'r',
      email: 'A@x.io',
      customerId: 'c1',
      mpid: '1',
    });
    const other = change(2, '2', 'b@x.io', 1, 'A', 'add');
    const older = history([sub(1, 1, 'A'), other, change(3, '1', 'a@x.io', 1, 'A', 'add'), erase(5), change(4, '1', 'a@x.io', 1, 'A', 'add')]);
    expect(lists(older)).toEqual({ A: ['b@x.io|c2'], B: [] });
    expect(expectedState(older, new Set([0, 1, 2, 3, 4])).erased).toEqual([{ accountId: 1, email: 'a@x.io', customerId: 'c1', newConsent: false }]);
    const newer = history([sub(1, 1, 'A'), other, erase(5), change(6, '1', 'a@x.io', 1, 'A', 'add')]);
    expect(lists(newer)).toEqual({ A: ['b@x.io|c2'], B: [] });
    expect(expectedState(newer, new Set([0, 1, 2, 3])).erased[0]?.newConsent).toBe(true);
    // Not acknowledged: no erasure.
    expect(lists(older, [0, 1, 2, 4])).toEqual({ A: ['a@x.io|c1', 'b@x.io|c2'], B: [] });
  });

  it('forwarded attributes: newest per user and field, whatever the arrival order; an erased user has none', () => {
    const withPlan = (at: number, mpid: string, email: string, plan: string): HistoryEvent => {
      const e = change(at, mpid, email, 1, 'A', 'add');
      if (e.kind === 'membership') e.profiles.forEach((p) => (p.attributes = [{ key: 'plan', value: plan }]));
      return e;
    };
    const h = history([sub(1, 1, 'A'), withPlan(5, '1', 'A@x.io', 'gold'), withPlan(3, '1', 'A@x.io', 'silver'), withPlan(4, '2', 'b@x.io', 'bronze')]);
    const fields = (acknowledged: number[]) =>
      Object.fromEntries([...(expectedState(h, new Set(acknowledged)).fields.get(1) ?? [])].map(([email, f]) => [email, Object.fromEntries(f)]));
    expect(fields([0, 1, 2, 3])).toEqual({ 'a@x.io': { plan: 'gold' }, 'b@x.io': { plan: 'bronze' } });
    expect(fields([0, 2])).toEqual({ 'a@x.io': { plan: 'silver' } });
    const erased = history([...h.events, { kind: 'erasure', id: 'e', accountId: 1, at: 9, apiKey: 'k', requestId: 'r', email: 'b@x.io', mpid: '2' }]);
    expect([
      ...(expectedState(erased, new Set([0, 1, 2, 3, 4]))
        .fields.get(1)
        ?.keys() ?? []),
    ]).toEqual(['a@x.io']);
  });

  it('counts only acknowledged messages', () => {
    const h = history([sub(1, 1, 'A'), change(2, '1', 'a@x.io', 1, 'A', 'add'), change(3, '1', 'a@x.io', 1, 'A', 'delete')]);
    expect(lists(h, [0, 1])).toEqual({ A: ['a@x.io|c1'], B: [] });
  });

  it('does not predict an account whose newest key Iterable refuses', () => {
    const h = history([{ ...sub(1, 1, 'A'), apiKey: 'r' }]);
    expect(expectedState(h, new Set([0])).undeliverable).toEqual(new Set([1]));
  });

  it.each([
    ['customerId', { mpid: '7', email: 'A@X.io', customerId: 'c7' }, { email: 'a@x.io', userId: 'c7' }],
    ['customerId', { mpid: '7', customerId: 'c7' }, undefined],
    ['mpid', { mpid: '7' }, { email: '7@placeholder.email', userId: '7' }],
  ] as const)('identity in %s mode of %j', (mode, profile, want) => {
    expect(identityOf(mode, profile)).toEqual(want);
  });

  it('generates the same history from the same seed, and another from another', () => {
    expect(generateHistory(42)).toEqual(generateHistory(42));
    expect(generateHistory(43).events).not.toEqual(generateHistory(42).events);
  });
});
