import type { IterableSubscriber } from './iterable.types';
import { bulkVerdicts, parseBulkResponse, verdictReason } from './bulk-verdicts.util';

const full = (failedUpdates: Record<string, string[]>, successCount: number, failCount: number) => ({ successCount, failCount, failedUpdates });

describe('bulkVerdicts: one subscriber, one answer', () => {
  it.each<[string, 'subscribe' | 'unsubscribe', IterableSubscriber, Record<string, string[]>, unknown]>([
    ['no failure → delivered', 'subscribe', { email: 'a@x.io' }, {}, { kind: 'delivered' }],
    [
      'invalidEmails, echoed lower-cased',
      'subscribe',
      { email: 'Bad@X' },
      { invalidEmails: ['bad@x'] },
      { kind: 'failed', reason: 'invalid email', retryable: false, detail: 'failedUpdates.invalidEmails' },
    ],
    [
      'invalidUserIds',
      'subscribe',
      { email: 'a@x.io', userId: 'u 1 ' },
      { invalidUserIds: ['u 1 '] },
      { kind: 'failed', reason: 'invalid userId', retryable: false, detail: 'failedUpdates.invalidUserIds' },
    ],
    ['userIds are compared exactly', 'subscribe', { email: 'a@x.io', userId: 'U-1' }, { invalidUserIds: ['u-1'] }, { kind: 'delivered' }],
    [
      'forgottenEmails',
      'subscribe',
      { email: 'F@x.io' },
      { forgottenEmails: ['f@x.io'] },
      { kind: 'failed', reason: 'forgotten', retryable: false, detail: 'failedUpdates.forgottenEmails' },
    ],
    [
      'forgottenUserIds',
      'unsubscribe',
      { email: 'a@x.io', userId: 'u-9' },
      { forgottenUserIds: ['u-9'] },
      { kind: 'failed', reason: 'forgotten', retryable: false, detail: 'failedUpdates.forgottenUserIds' },
    ],
    [
      'conflictEmails',
      'subscribe',
      { email: 'c@x.io', userId: 'u-2' },
      { conflictEmails: ['c@x.io'] },
      { kind: 'failed', reason: 'conflict', retryable: false, detail: 'failedUpdates.conflictEmails' },
    ],
    [
      'conflictUserIds',
      'subscribe',
      { email: 'c@x.io', userId: 'u-2' },
      { conflictUserIds: ['u-2'] },
      { kind: 'failed', reason: 'conflict', retryable: false, detail: 'failedUpdates.conflictUserIds' },
    ],
    [
      'invalidDataEmails',
      'subscribe',
      { email: 'd@x.io' },
      { invalidDataEmails: ['d@x.io'] },
      { kind: 'failed', reason: 'invalid data', retryable: false, detail: 'failedUpdates.invalidDataEmails' },
    ],
    [
      'invalidDataUserIds',
      'subscribe',
      { userId: 'u-3' },
      { invalidDataUserIds: ['u-3'] },
      { kind: 'failed', reason: 'invalid data', retryable: false, detail: 'failedUpdates.invalidDataUserIds' },
    ],
    [
      'notFoundEmails on subscribe',
      'subscribe',
      { email: 'n@x.io' },
      { notFoundEmails: ['n@x.io'] },
      { kind: 'failed', reason: 'not found', retryable: false, detail: 'failedUpdates.notFoundEmails' },
    ],
    [
      'notFoundUserIds on subscribe',
      'subscribe',
      { userId: 'u-4' },
      { notFoundUserIds: ['u-4'] },
      { kind: 'failed', reason: 'not found', retryable: false, detail: 'failedUpdates.notFoundUserIds' },
    ],
    ['notFoundEmails on unsubscribe → delivered (already off)', 'unsubscribe', { email: 'N@x.io' }, { notFoundEmails: ['n@x.io'] }, { kind: 'delivered' }],
    ['notFoundUserIds on unsubscribe → delivered', 'unsubscribe', { userId: 'u-4' }, { notFoundUserIds: ['u-4'] }, { kind: 'delivered' }],
    [
      'forgotten wins over not found',
      'subscribe',
      { email: 'f@x.io', userId: 'u-5' },
      { notFoundUserIds: ['u-5'], forgottenEmails: ['f@x.io'] },
      { kind: 'failed', reason: 'forgotten', retryable: false, detail: 'failedUpdates.forgottenEmails' },
    ],
    ['an email category never matches a userId', 'subscribe', { userId: 'a@x.io' }, { invalidEmails: ['a@x.io'] }, { kind: 'delivered' }],
    [
      'an array we do not know (…Emails), echoed lower-cased: failed for good',
      'subscribe',
      { email: 'S@x.io' },
      { suppressedEmails: ['s@x.io'] },
      { kind: 'failed', reason: 'bad request', retryable: false, detail: 'failedUpdates.suppressedEmails' },
    ],
    [
      'an array we do not know (…UserIds), compared exactly',
      'unsubscribe',
      { email: 'a@x.io', userId: 'u-7' },
      { blockedUserIds: ['u-7'] },
      { kind: 'failed', reason: 'bad request', retryable: false, detail: 'failedUpdates.blockedUserIds' },
    ],
    ['an array we do not know (…UserIds) never matches an email', 'subscribe', { email: 'u-7@x.io' }, { blockedUserIds: ['u-7@x.io'] }, { kind: 'delivered' }],
    [
      'an array naming neither: matched by email',
      'subscribe',
      { email: 'Q@x.io', userId: 'u-8' },
      { quarantined: ['q@x.io'] },
      { kind: 'failed', reason: 'bad request', retryable: false, detail: 'failedUpdates.quarantined' },
    ],
    [
      'an array naming neither: matched by userId',
      'subscribe',
      { email: 'q@x.io', userId: 'u-8' },
      { quarantined: ['u-8'] },
      { kind: 'failed', reason: 'bad request', retryable: false, detail: 'failedUpdates.quarantined' },
    ],
    [
      'a known category wins over one we do not know',
      'subscribe',
      { email: 'f@x.io' },
      { aaaEmails: ['f@x.io'], forgottenEmails: ['f@x.io'] },
      { kind: 'failed', reason: 'forgotten', retryable: false, detail: 'failedUpdates.forgottenEmails' },
    ],
  ])('%s', (_name, action, subscriber, failedUpdates, outcome) => {
    const failCount = Object.values(failedUpdates).flat().length > 0 ? 1 : 0;
    const result = bulkVerdicts(action, 7, [subscriber], full(failedUpdates, 1 - failCount, failCount));
    expect(result.verdicts[0].outcome).toEqual(outcome);
    expect(result.verdicts[0].subscriber).toBe(subscriber);
  });

  it('a batch whose only failures are in an array we do not know: those users failed for good, the rest delivered, nothing unattributed', () => {
    const subscribers = [{ email: 'a@x.io' }, { email: 'b@x.io', userId: 'u-b' }, { email: 'c@x.io' }];
    const result = bulkVerdicts('subscribe', 7, subscribers, full({ invalidEmails: [], someNewCategoryUserIds: ['u-b'] }, 2, 1));
    expect(result.verdicts.map((v) => [v.outcome.kind, verdictReason(v)])).toEqual([
      ['delivered', null],
      ['failed', 'failedUpdates.someNewCategoryUserIds'],
      ['delivered', null],
    ]);
    expect(result.verdicts[1].category).toBe('someNewCategoryUserIds');
    expect(result).toMatchObject({ countMismatch: false, unattributedFailures: 0 });
  });

  it('verdictReason: ours for a known category', () => {
    const [verdict] = bulkVerdicts('subscribe', 7, [{ email: 'f@x.io' }], full({ forgottenEmails: ['f@x.io'] }, 0, 1)).verdicts;
    expect(verdictReason(verdict)).toBe('forgotten');
  });

  it('marks the category of an unsubscribe not-found even though it is delivered', () => {
    const result = bulkVerdicts('unsubscribe', 7, [{ userId: 'u-1' }], full({ notFoundUserIds: ['u-1'] }, 0, 1));
    expect(result.verdicts[0]).toEqual({ subscriber: { userId: 'u-1' }, outcome: { kind: 'delivered' }, category: 'notFoundUserIds' });
    expect(result.unattributedFailures).toBe(0);
  });
});

describe('bulkVerdicts: counts', () => {
  const subscribers = [{ email: 'a@x.io' }, { email: 'b@x.io' }, { email: 'bad@' }];
  it.each([
    ['matching counts', { successCount: 2, failCount: 1, failedUpdates: { invalidEmails: ['bad@'] } }, false, 0],
    ['a sum that is one short', { successCount: 1, failCount: 1, failedUpdates: { invalidEmails: ['bad@'] } }, true, 0],
    ['a sum that is one over', { successCount: 3, failCount: 1, failedUpdates: { invalidEmails: ['bad@'] } }, true, 0],
    ['counts missing', { failedUpdates: { invalidEmails: ['bad@'] } }, true, 0],
    ['counts as numeric strings', { successCount: '2', failCount: '1', invalidEmails: ['bad@'] }, false, 0],
    ['failures counted but not named', { successCount: 1, failCount: 2, failedUpdates: { invalidEmails: ['bad@'] } }, false, 1],
    ['a body that is not an object', 'OK', true, 0],
  ])('%s', (_name, body, countMismatch, unattributed) => {
    const result = bulkVerdicts('subscribe', 1, subscribers, body);
    expect(result.countMismatch).toBe(countMismatch);
    expect(result.unattributedFailures).toBe(unattributed);
  });

  it('answers an empty batch with no verdicts and no mismatch', () => {
    expect(bulkVerdicts('subscribe', 1, [], { successCount: 0, failCount: 0 })).toMatchObject({ verdicts: [], countMismatch: false });
  });
});

describe('parseBulkResponse (lenient)', () => {
  it('treats missing arrays as empty, merges the deprecated top-level copies, ignores junk and unknown fields', () => {
    const parsed = parseBulkResponse({
      successCount: 1,
      failCount: 2,
      failedUpdates: { invalidEmails: ['a@'], forgottenEmails: 'not-an-array', notFoundUserIds: ['u-1', 5, null] },
      invalidEmails: ['a@', 'b@'],
      invalidUserIds: ['bad id '],
      createdFields: ['tier'],
      someNewField: { whatever: true },
    });
    expect(parsed).toEqual({
      successCount: 1,
      failCount: 2,
      failures: {
        invalidEmails: ['a@', 'b@'],
        invalidUserIds: ['bad id '],
        notFoundEmails: [],
        notFoundUserIds: ['u-1'],
        forgottenEmails: [],
        forgottenUserIds: [],
        conflictEmails: [],
        conflictUserIds: [],
        invalidDataEmails: [],
        invalidDataUserIds: [],
      },
      otherFailures: {},
      createdFields: ['tier'],
      filteredOutFields: [],
    });
  });

  it('keeps every other array inside failedUpdates, by name, with its strings', () => {
    const parsed = parseBulkResponse({ failedUpdates: { invalidEmails: ['a@'], suppressedEmails: ['s@x.io', 3], blockedUserIds: [], note: 'not an array' } });
    expect(parsed.otherFailures).toEqual({ suppressedEmails: ['s@x.io'], blockedUserIds: [] });
  });

  it.each([
    ['a negative count', -1, undefined],
    ['a fraction', 1.5, undefined],
    ['a word', 'two', undefined],
    ['zero', 0, 0],
  ])('reads %s as %s', (_name, value, expected) => {
    expect(parseBulkResponse({ successCount: value }).successCount).toBe(expected);
  });
});
