import { UserIdField } from '@audience-bridge/domain';
import { FirehoseUserProfile } from '@audience-bridge/mparticle';
import fc from 'fast-check';
import { isEmail } from 'class-validator';
import { COMMON_EMAIL, isDeliverableEmail, isValidUserId } from './identity';
import { resolveSubscriber, userKeyOf } from './resolve-subscriber';

type Ids = { email?: string; customer?: string; hashedEmail?: string; hashedCustomer?: string; mpid?: string };

function profile({ email, customer, hashedEmail, hashedCustomer, mpid }: Ids): FirehoseUserProfile {
  const user_identities = [
    ...(email !== undefined ? [{ type: 'email', encoding: 'raw' as const, value: email }] : []),
    ...(customer !== undefined ? [{ type: 'customer', encoding: 'raw' as const, value: customer }] : []),
    ...(hashedEmail !== undefined ? [{ type: 'email', encoding: 'sha256' as const, value: hashedEmail }] : []),
    ...(hashedCustomer !== undefined ? [{ type: 'customer', encoding: 'md5' as const, value: hashedCustomer }] : []),
  ];
  return { ...(mpid !== undefined ? { mpid } : {}), user_identities };
}

describe('resolveSubscriber: the seed identity table and its edges', () => {
  it.each<[string, UserIdField, Ids, object]>([
    // Customer ID mode (seed: "Email address and Customer ID will be forwarded… Users must have an email address")
    [
      'customerId: email and customer id',
      'customerId',
      { email: 'jane@example.com', customer: '1003', mpid: '7' },
      { subscriber: { email: 'jane@example.com', userId: '1003' } },
    ],
    ['customerId: no email → skipped', 'customerId', { customer: '1003', mpid: '7' }, { skipReason: 'missing email' }],
    [
      'customerId: email without customer id → email only',
      'customerId',
      { email: 'jane@example.com', mpid: '7' },
      { subscriber: { email: 'jane@example.com' } },
    ],
    ['customerId: the mpid is never the userId', 'customerId', { email: 'a@example.com', mpid: '42' }, { subscriber: { email: 'a@example.com' } }],
    ['customerId: a hashed email is not an email', 'customerId', { hashedEmail: 'ab12cd', customer: '1003' }, { skipReason: 'missing email' }],
    [
      'customerId: a hashed customer id is not a userId',
      'customerId',
      { email: 'a@example.com', hashedCustomer: 'ff00' },
      { subscriber: { email: 'a@example.com' } },
    ],
    [
      'customerId: email trimmed and lower-cased',
      'customerId',
      { email: '  Jane.Doe@Example.COM ', customer: '1003' },
      { subscriber: { email: 'jane.doe@example.com', userId: '1003' } },
    ],
    [
      'customerId: customer id trimmed',
      'customerId',
      { email: 'a@example.com', customer: ' 1003 ' },
      { subscriber: { email: 'a@example.com', userId: '1003' } },
    ],
    ['customerId: a blank email counts as none', 'customerId', { email: '   ', customer: '1003' }, { skipReason: 'missing email' }],
    ['customerId: an email Iterable refuses is flagged', 'customerId', { email: 'user @example.com', customer: '1' }, { skipReason: 'invalid email' }],
    ['customerId: an email without a domain is flagged', 'customerId', { email: 'bad@', customer: '1' }, { skipReason: 'invalid email' }],
    [
      'customerId: a customer id Iterable refuses is flagged',
      'customerId',
      { email: 'a@example.com', customer: 'x'.repeat(53) },
      { skipReason: 'invalid userId' },
    ],
    // mParticle ID mode (seed: "Users without an email address will be forwarded with a placeholder… <mpid>@placeholder.email")
    [
      'mpid: email and mpid',
      'mpid',
      { email: 'jane@example.com', customer: '1003', mpid: '-5227515829034156637' },
      { subscriber: { email: 'jane@example.com', userId: '-5227515829034156637' } },
    ],
    [
      'mpid: no email → placeholder',
      'mpid',
      { customer: '1003', mpid: '-5227515829034156637' },
      { subscriber: { email: '-5227515829034156637@placeholder.email', userId: '-5227515829034156637' } },
    ],
    [
      'mpid: a hashed email → placeholder',
      'mpid',
      { hashedEmail: 'ab12', mpid: '12345' },
      { subscriber: { email: '12345@placeholder.email', userId: '12345' } },
    ],
    ['mpid: no mpid → skipped', 'mpid', { email: 'jane@example.com' }, { skipReason: 'missing mpid' }],
    [
      'mpid: the customer id is never the userId',
      'mpid',
      { email: 'a@example.com', customer: '1003', mpid: '9' },
      { subscriber: { email: 'a@example.com', userId: '9' } },
    ],
  ])('%s', (_name, userIdField, ids, expected) => {
    expect(resolveSubscriber(profile(ids), { userIdField })).toEqual(expected);
  });
});

describe('identity checks', () => {
  it.each([
    ['jane@example.com', true],
    ['-5227515829034156637@placeholder.email', true],
    ['first.last+tag@sub.example.co.uk', true],
    ['user @example.com', false],
    ['bad@', false],
    ['@example.com', false],
    ['no-at-sign.example.com', false],
    ['a@localhost', false],
    ['a@[127.0.0.1]', false],
    [`${'x'.repeat(250)}@example.com`, false],
  ])('isDeliverableEmail(%j) is %s', (email, ok) => {
    expect(isDeliverableEmail(email)).toBe(ok);
  });

  // The quick test answers "deliverable" only for addresses class-validator's isEmail (with our options) accepts.
  it('takes an address the quick way only where isEmail accepts it, and takes the common ones', () => {
    const options = { allow_display_name: false, require_tld: true, allow_ip_domain: false, allow_utf8_local_part: false };
    const alphabet = fc.constantFrom(...'aZ09._+-@@..-_'.split(''), ' ', '"', '(', '[', ':', '\u00e9', '\uff0e', '\u0000', 'xn--');
    const label = fc.oneof(fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,8}$/), fc.stringMatching(/^[a-z0-9-]{0,70}$/), fc.stringMatching(/^[a-z0-9]{60,70}$/));
    const candidates = fc.oneof(
      fc.emailAddress(),
      fc.array(alphabet, { maxLength: 24 }).map((chars) => chars.join('')),
      fc
        .tuple(
          fc.oneof(fc.stringMatching(/^[a-zA-Z0-9._+-]{0,70}$/), fc.stringMatching(/^[a-z0-9]{60,70}$/)),
          fc.array(label, { minLength: 1, maxLength: 4 }),
          fc.oneof(fc.stringMatching(/^[a-z]{2,6}$/), fc.stringMatching(/^[a-z0-9-]{0,5}$/)),
        )
        .map(([local, labels, tld]) => `${local}@${[...labels, tld].join('.')}`),
    );
    let quick = 0;
    fc.assert(
      fc.property(candidates, (email) => {
        if (email.length <= 254 && COMMON_EMAIL.test(email)) {
          quick++;
          expect(isEmail(email, options)).toBe(true);
        }
      }),
      { numRuns: 20_000 },
    );
    expect(quick).toBeGreaterThan(500);
    for (const common of ['jane@example.com', '-5227515829034156637@placeholder.email', 'first.last+tag@sub.example.co.uk', 'a_b@x-y.io']) {
      expect(COMMON_EMAIL.test(common)).toBe(true);
    }
  });

  it.each([
    ['1003', true],
    ['-5227515829034156637', true],
    ['x'.repeat(52), true],
    ['x'.repeat(53), false],
    ['', false],
    ['trailing ', false],
    ['tab\tinside', false],
    ['ünïcode', false],
  ])('isValidUserId(%j) is %s', (userId, ok) => {
    expect(isValidUserId(userId)).toBe(ok);
  });

  it.each<[Ids, string | undefined]>([
    [{ mpid: '5', customer: 'c', email: 'e@x.io' }, '5'],
    [{ customer: 'c', email: 'E@x.io' }, 'customer:c'],
    [{ email: 'E@X.io' }, 'email:e@x.io'],
    [{ hashedEmail: 'ab' }, undefined],
    [{ customer: 'c'.repeat(191) }, `customer:${'c'.repeat(191)}`],
  ])('userKeyOf(%j) is %s', (ids, key) => {
    expect(userKeyOf(profile(ids))).toBe(key);
  });

  it.each<[string, Ids]>([
    ['customer id', { customer: 'c'.repeat(5000) }],
    ['email', { email: `${'e'.repeat(240)}@example.com` }],
  ])('keys a %s too long to store by its SHA-256, the same every time and within 200 characters', (_, ids) => {
    const key = userKeyOf(profile(ids)) as string;
    expect(key).toMatch(/^(customer|email)#sha256:[0-9a-f]{64}$/);
    expect(key.length).toBeLessThanOrEqual(200);
    expect(userKeyOf(profile(ids))).toBe(key);
    expect(userKeyOf(profile({ ...ids, customer: ids.customer && `${ids.customer}x`, email: ids.email && `x${ids.email}` }))).not.toBe(key);
  });
});
