import type { CallOutcome, CallSettlement, MemberSettlement } from './settle-call';
import { describeCallError, settleCall, UNKNOWN_LIST_BACKOFF_SCALE, UNKNOWN_LIST_TRIES } from './settle-call';

const delivered = { kind: 'delivered' as const };
const error = (errorKind: 'retryable' | 'split' | 'permanent', reason: string, extra: Partial<Extract<CallOutcome, { kind: 'error' }>> = {}): CallOutcome => ({
  kind: 'error',
  errorKind,
  reason,
  unknownOutcome: false,
  ...extra,
});
const pick = (m: MemberSettlement) => [m.verdict, m.reason, m.state ?? '-', m.done, m.recheck];

describe('settleCall: an Iterable answer becomes per-member settlements and the list’s next step', () => {
  it.each<[string, 'subscribe' | 'unsubscribe', number, CallOutcome, unknown[][], CallSettlement['list'], number?]>([
    [
      'all delivered (subscribe)',
      'subscribe',
      2,
      { kind: 'answered', verdicts: [delivered, delivered], unattributedFailures: 0 },
      [
        ['delivered', null, 'subscribed', true, false],
        ['delivered', null, 'subscribed', true, false],
      ],
      { kind: 'continue' },
    ],
    [
      'all delivered (unsubscribe)',
      'unsubscribe',
      1,
      { kind: 'answered', verdicts: [delivered], unattributedFailures: 0 },
      [['delivered', null, 'unsubscribed', true, false]],
      { kind: 'continue' },
    ],
    [
      'one refused for good',
      'subscribe',
      2,
      { kind: 'answered', verdicts: [delivered, { kind: 'failed', reason: 'forgotten' }], unattributedFailures: 0 },
      [
        ['delivered', null, 'subscribed', true, false],
        ['failed', 'forgotten', 'failed', true, false],
      ],
      { kind: 'continue' },
    ],
    [
      'failures nobody was named for: all sent again',
      'subscribe',
      1,
      { kind: 'answered', verdicts: [delivered], unattributedFailures: 1 },
      [['failed', 'unattributed failure', 'unknown', false, false]],
      { kind: 'retry', reason: 'unattributed failure' },
    ],
    [
      '429 with Retry-After',
      'subscribe',
      1,
      error('retryable', 'rate limited', { retryAfterMs: 3000 }),
      [['failed', 'rate limited', '-', false, false]],
      { kind: 'retry', reason: 'rate limited', retryAfterMs: 3000 },
    ],
    [
      '500: not applied, retried',
      'unsubscribe',
      1,
      error('retryable', 'server error'),
      [['failed', 'server error', '-', false, false]],
      { kind: 'retry', reason: 'server error' },
    ],
    [
      'timeout: outcome unknown, re-sent and rechecked',
      'subscribe',
      1,
      error('retryable', 'network error', { unknownOutcome: true }),
      [['failed', 'network error', 'unknown', false, true]],
      { kind: 'retry', reason: 'network error' },
    ],
    ['413 with several: split in halves', 'subscribe', 4, error('split', 'too large'), [], { kind: 'split' }],
    ['413 with one: too large for good', 'subscribe', 1, error('split', 'too large'), [['failed', 'too large', 'failed', true, false]], { kind: 'continue' }],
    [
      'bad API key: the account is suspended, members wait',
      'subscribe',
      1,
      error('permanent', 'bad api key'),
      [['failed', 'bad api key', '-', false, false]],
      { kind: 'suspend', scope: 'account', reason: 'bad api key' },
    ],
    [
      'unknown list, first answer: retried later (a new list can answer it for a moment)',
      'subscribe',
      1,
      error('permanent', 'unknown list'),
      [['failed', 'unknown list', '-', false, false]],
      { kind: 'retry', reason: 'unknown list', backoffScale: UNKNOWN_LIST_BACKOFF_SCALE },
      0,
    ],
    [
      'unknown list, second answer in a row: retried later',
      'unsubscribe',
      2,
      error('permanent', 'unknown list'),
      [
        ['failed', 'unknown list', '-', false, false],
        ['failed', 'unknown list', '-', false, false],
      ],
      { kind: 'retry', reason: 'unknown list', backoffScale: UNKNOWN_LIST_BACKOFF_SCALE },
      1,
    ],
    [
      'unknown list, third answer in a row: the list is suspended, members wait',
      'unsubscribe',
      1,
      error('permanent', 'unknown list'),
      [['failed', 'unknown list', '-', false, false]],
      { kind: 'suspend', scope: 'list', reason: 'unknown list' },
      UNKNOWN_LIST_TRIES - 1,
    ],
    [
      'unknown list after many other failures: suspended',
      'subscribe',
      1,
      error('permanent', 'unknown list'),
      [['failed', 'unknown list', '-', false, false]],
      { kind: 'suspend', scope: 'list', reason: 'unknown list' },
      7,
    ],
    [
      'a bad API key is believed at once, whatever came before',
      'subscribe',
      1,
      error('permanent', 'bad api key'),
      [['failed', 'bad api key', '-', false, false]],
      { kind: 'suspend', scope: 'account', reason: 'bad api key' },
      0,
    ],
    [
      '429 with a capped Retry-After: waits the cap',
      'subscribe',
      1,
      error('retryable', 'rate limited', { retryAfterMs: 900_000, retryAfterAskedMs: 7_200_000 }),
      [['failed', 'rate limited', '-', false, false]],
      { kind: 'retry', reason: 'rate limited', retryAfterMs: 900_000 },
    ],
    ['409 for a batch: sent again in halves', 'subscribe', 3, error('permanent', 'conflict'), [], { kind: 'split' }],
    [
      '409 for one member: a conflict of that member, failed for good',
      'unsubscribe',
      1,
      error('permanent', 'conflict'),
      [['failed', 'conflict', 'failed', true, false]],
      { kind: 'continue' },
    ],
    [
      'bad request: members failed, the list goes on',
      'subscribe',
      2,
      error('permanent', 'bad request'),
      [
        ['failed', 'bad request', 'failed', true, false],
        ['failed', 'bad request', 'failed', true, false],
      ],
      { kind: 'refused', reason: 'bad request' },
    ],
  ])('%s', (_name, action, count, outcome, members, list, failedTries = 0) => {
    const settlement = settleCall(action, count, outcome, [], { failedTries });
    expect(settlement.members.map(pick)).toEqual(members);
    expect(settlement.list).toEqual(list);
  });

  it.each<[string, boolean, Partial<MemberSettlement>]>([
    ['sent with email and userId: sent again by the userId alone', true, { verdict: 'failed', reason: 'conflict', done: false, resendByUserId: true }],
    ['already sent by the userId alone (or no userId): failed for good', false, { verdict: 'failed', reason: 'conflict', state: 'failed', done: true }],
  ])('a conflict, %s', (_name, possible, expected) => {
    const settlement = settleCall('subscribe', 1, { kind: 'answered', verdicts: [{ kind: 'failed', reason: 'conflict' }], unattributedFailures: 0 }, [
      possible,
    ]);
    expect(settlement.members[0]).toMatchObject(expected);
    expect(settlement.list).toEqual({ kind: 'continue' });
  });

  it.each<[string, boolean, Partial<MemberSettlement>]>([
    ['sent with email and userId: sent again by the userId alone', true, { verdict: 'failed', reason: 'conflict', done: false, resendByUserId: true }],
    ['already sent by the userId alone (or no userId): failed for good', false, { verdict: 'failed', reason: 'conflict', state: 'failed', done: true }],
  ])('a 409 for a call of one member, %s', (_name, possible, expected) => {
    const settlement = settleCall('subscribe', 1, error('permanent', 'conflict'), [possible]);
    expect(settlement.members[0]).toMatchObject(expected);
    expect(settlement.list).toEqual({ kind: 'continue' });
  });

  it('a user failed in an array Iterable added (named by its array): failed for good, the batch not retried', () => {
    const settlement = settleCall('subscribe', 2, {
      kind: 'answered',
      verdicts: [delivered, { kind: 'failed', reason: 'failedUpdates.suppressedEmails' }],
      unattributedFailures: 0,
    });
    expect(settlement.members.map(pick)).toEqual([
      ['delivered', null, 'subscribed', true, false],
      ['failed', 'failedUpdates.suppressedEmails', 'failed', true, false],
    ]);
    expect(settlement.list).toEqual({ kind: 'continue' });
  });
});

describe('describeCallError: what the audit row of a call says went wrong', () => {
  it.each<[string, CallOutcome, string | null]>([
    ['an answered call', { kind: 'answered', verdicts: [delivered], unattributedFailures: 0 }, null],
    ['a failure: its reason', error('retryable', 'server error'), 'server error'],
    ['a Retry-After within the cap', error('retryable', 'rate limited', { retryAfterMs: 60_000 }), 'rate limited'],
    [
      'a capped Retry-After: what was asked and the cap',
      error('retryable', 'rate limited', { retryAfterMs: 900_000, retryAfterAskedMs: 7_200_000 }),
      'rate limited (Retry-After 7200 s capped to 900 s)',
    ],
  ])('%s', (_name, outcome, expected) => {
    expect(describeCallError(outcome)).toBe(expected);
  });
});
