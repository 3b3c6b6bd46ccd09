import { erasureSubject } from './erasure-subject';

describe('erasureSubject', () => {
  it.each<[string, Record<string, { encoding: string; value: string }>, object]>([
    [
      'email and customer id',
      { email: { encoding: 'raw', value: ' Jane@Example.COM ' }, controller_customer_id: { encoding: 'raw', value: 'c-7' } },
      { email: 'jane@example.com', customerId: 'c-7' },
    ],
    ['a hashed email names nobody', { email: { encoding: 'sha256', value: 'ab12' } }, {}],
    ['device identities name nobody', { ios_advertising_id: { encoding: 'raw', value: 'IDFA' } }, {}],
    ['an empty value names nobody', { email: { encoding: 'raw', value: '  ' } }, {}],
  ])('%s', (_name, identities, subject) => {
    expect(erasureSubject({ subject_identities: identities })).toEqual(subject);
  });
});
