import type { AudienceMembershipChangeRequest } from '@audience-bridge/mparticle';
import { ATTRIBUTE_SKIP_REASONS, attributeSupersedes, mapAttributeChanges, typeAttribute } from './attributes';

describe('typeAttribute', () => {
  it.each([
    ['string', { action: 'upsert', value: ' Gold ' }, { value: ' Gold ' }],
    ['string', { action: 'upsert', listValue: ['a', 'b'] }, { value: ['a', 'b'] }],
    ['number', { action: 'upsert', value: '12.5' }, { value: 12.5 }],
    ['number', { action: 'upsert', value: ' -3 ' }, { value: -3 }],
    ['number', { action: 'upsert', value: '1e3' }, { value: 1000 }],
    ['number', { action: 'upsert', value: '' }, { skipReason: ATTRIBUTE_SKIP_REASONS.notANumber }],
    ['number', { action: 'upsert', value: '0x10' }, { skipReason: ATTRIBUTE_SKIP_REASONS.notANumber }],
    ['number', { action: 'upsert', value: 'Infinity' }, { skipReason: ATTRIBUTE_SKIP_REASONS.notANumber }],
    ['number', { action: 'upsert', listValue: ['1', '2'] }, { value: [1, 2] }],
    ['number', { action: 'upsert', listValue: ['1', 'two'] }, { skipReason: ATTRIBUTE_SKIP_REASONS.notANumber }],
    ['boolean', { action: 'upsert', value: 'TRUE' }, { value: true }],
    ['boolean', { action: 'upsert', value: 'no' }, { value: false }],
    ['boolean', { action: 'upsert', value: '1' }, { value: true }],
    ['boolean', { action: 'upsert', value: 'maybe' }, { skipReason: ATTRIBUTE_SKIP_REASONS.notABoolean }],
    ['date', { action: 'upsert', value: '2024-01-02' }, { value: '2024-01-02T00:00:00.000Z' }],
    ['date', { action: 'upsert', value: '2024-01-02T03:04:05+02:00' }, { value: '2024-01-02T01:04:05.000Z' }],
    ['date', { action: 'upsert', value: '2024-01-02 03:04:05Z' }, { value: '2024-01-02T03:04:05.000Z' }],
    ['date', { action: 'upsert', value: '1704164645000' }, { value: '2024-01-02T03:04:05.000Z' }],
    ['date', { action: 'upsert', value: '1704164645' }, { value: '2024-01-02T03:04:05.000Z' }],
    ['date', { action: 'upsert', value: 'yesterday' }, { skipReason: ATTRIBUTE_SKIP_REASONS.notADate }],
    ['date', { action: 'upsert', value: '2024-13-45' }, { skipReason: ATTRIBUTE_SKIP_REASONS.notADate }],
    ['number', { action: 'delete' }, { value: null }],
    ['date', { action: 'delete', value: 'garbage' }, { value: null }],
    ['string', { action: 'upsert' }, { skipReason: ATTRIBUTE_SKIP_REASONS.noValue }],
    // Issue 22 §2: strict by type, never a silent change.
    ['date', { action: 'upsert', value: '2024-02-30' }, { skipReason: ATTRIBUTE_SKIP_REASONS.notADate }],
    ['date', { action: 'upsert', value: '2024-02-29' }, { value: '2024-02-29T00:00:00.000Z' }],
    ['date', { action: 'upsert', value: '2023-02-29' }, { skipReason: ATTRIBUTE_SKIP_REASONS.notADate }],
    ['date', { action: 'upsert', value: '0000-01-01' }, { skipReason: ATTRIBUTE_SKIP_REASONS.dateOutOfRange }],
    ['date', { action: 'upsert', value: '9999-12-31' }, { skipReason: ATTRIBUTE_SKIP_REASONS.dateOutOfRange }],
    ['date', { action: 'upsert', value: '17041646450' }, { skipReason: ATTRIBUTE_SKIP_REASONS.notADate }],
    ['date', { action: 'upsert', value: '170416464500' }, { skipReason: ATTRIBUTE_SKIP_REASONS.notADate }],
    ['number', { action: 'upsert', value: '12345678901234567890' }, { skipReason: ATTRIBUTE_SKIP_REASONS.numberOutOfRange }],
    ['number', { action: 'upsert', value: '9007199254740991' }, { value: 9007199254740991 }],
    ['number', { action: 'upsert', value: '-9007199254740992' }, { skipReason: ATTRIBUTE_SKIP_REASONS.numberOutOfRange }],
    ['string', { action: 'upsert', value: 'x'.repeat(2048) }, { value: 'x'.repeat(2048) }],
    ['string', { action: 'upsert', value: 'x'.repeat(2049) }, { skipReason: ATTRIBUTE_SKIP_REASONS.tooLong }],
    ['string', { action: 'upsert', value: 'é'.repeat(1025) }, { skipReason: ATTRIBUTE_SKIP_REASONS.tooLong }],
    ['string', { action: 'upsert', value: 'attribute not a number' }, { value: 'attribute not a number' }],
    ['string', { action: 'upsert', listValue: Array.from({ length: 300 }, () => 'abcdefgh') }, { skipReason: ATTRIBUTE_SKIP_REASONS.tooLong }],
  ] as const)('%s %j → %j', (type, change, expected) => {
    expect(typeAttribute(change as Parameters<typeof typeAttribute>[0], type)).toEqual(expected);
  });

  it('keeps every skip reason within the 32 characters the audit stores', () => {
    for (const reason of Object.values(ATTRIBUTE_SKIP_REASONS)) expect(reason.length).toBeLessThanOrEqual(32);
  });
});

describe('attributeSupersedes (newest wins per account, user, attribute)', () => {
  it.each([
    [{ timestampMs: 2, sourceMessageId: 'a' }, { timestampMs: 1, sourceMessageId: 'z' }, true],
    [{ timestampMs: 1, sourceMessageId: 'z' }, { timestampMs: 2, sourceMessageId: 'a' }, false],
    [{ timestampMs: 1, sourceMessageId: 'b' }, { timestampMs: 1, sourceMessageId: 'a' }, true],
    [{ timestampMs: 1, sourceMessageId: 'a' }, { timestampMs: 1, sourceMessageId: 'a' }, false],
  ])('%j over %j: %s', (incoming, stored, expected) => {
    expect(attributeSupersedes(incoming, stored)).toBe(expected);
  });
});

describe('mapAttributeChanges', () => {
  const request = (userAttributes: unknown[][], action = 'attribute_update'): AudienceMembershipChangeRequest =>
    ({
      type: 'audience_membership_change_request',
      id: 'm-1',
      timestamp_ms: 5000,
      account: { account_id: 7, account_settings: {} },
      user_profiles: [
        {
          mpid: '42',
          user_identities: [
            { type: 'email', encoding: 'raw', value: 'Jane@Example.com' },
            { type: 'customer', encoding: 'raw', value: 'c-42' },
          ],
          audiences: userAttributes.map((attrs, i) => ({ audience_id: i + 1, audience_name: 'A', action, user_attributes: attrs })),
        },
      ],
    }) as unknown as AudienceMembershipChangeRequest;
  const forwarded = new Map([
    ['plan', 'string'],
    ['ltv', 'number'],
  ] as const);

  it('forwards nothing when no key is listed', () => {
    expect(mapAttributeChanges(request([[{ key: 'plan', action: 'upsert', value: 'gold' }]]), { userIdField: 'customerId' }, new Map())).toEqual([]);
  });

  it('keeps the listed keys only, the last entry for a key winning, typed, with the identity Iterable is sent', () => {
    const changes = mapAttributeChanges(
      request([
        [{ key: 'plan', action: 'upsert', value: 'silver' }, { key: 'secret', action: 'upsert', value: 'x' }, {}],
        [
          { key: 'plan', action: 'upsert', value: 'gold' },
          { key: 'ltv', action: 'upsert', value: 'lots' },
          { key: 'plan', action: 'rename' },
        ],
      ]),
      { userIdField: 'customerId' },
      forwarded,
    );
    expect(changes).toEqual([
      {
        accountId: 7,
        userKey: '42',
        key: 'ltv',
        valueJson: null,
        skipReason: ATTRIBUTE_SKIP_REASONS.notANumber,
        mpid: '42',
        email: 'jane@example.com',
        userId: 'c-42',
        sourceMessageId: 'm-1',
        timestampMs: 5000,
      },
      {
        accountId: 7,
        userKey: '42',
        key: 'plan',
        valueJson: '"gold"',
        skipReason: null,
        mpid: '42',
        email: 'jane@example.com',
        userId: 'c-42',
        sourceMessageId: 'm-1',
        timestampMs: 5000,
      },
    ]);
  });

  it('takes attributes from add and delete entries too', () => {
    expect(mapAttributeChanges(request([[{ key: 'ltv', action: 'delete' }]], 'delete'), { userIdField: 'mpid' }, forwarded)).toEqual([
      expect.objectContaining({ key: 'ltv', valueJson: 'null', email: 'jane@example.com', userId: '42' }),
    ]);
  });
});
