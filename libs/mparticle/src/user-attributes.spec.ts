import { DomainError } from '@audience-bridge/domain';
import type { FirehoseAccount } from './firehose-messages';
import { parseForwardAttributes } from './user-attributes';

const account = (forwardAttributes?: string) =>
  ({ account_id: 1, account_settings: forwardAttributes === undefined ? {} : { forwardAttributes } }) as FirehoseAccount;

describe('parseForwardAttributes', () => {
  it.each([
    [undefined, []],
    ['', []],
    ['  ', []],
    [
      'plan:string, ltv:number, vip:boolean, signup:date',
      [
        ['plan', 'string'],
        ['ltv', 'number'],
        ['vip', 'boolean'],
        ['signup', 'date'],
      ],
    ],
    ['plan', [['plan', 'string']]],
    [
      'plan : NUMBER ,, ltv:Date\nvip:boolean',
      [
        ['plan', 'number'],
        ['ltv', 'date'],
        ['vip', 'boolean'],
      ],
    ],
    ['a:b:string', [['a:b', 'string']]],
    ['plan:string, plan:string', [['plan', 'string']]],
  ])('%j → %j', (value, expected) => {
    expect([...parseForwardAttributes(account(value))]).toEqual(expected);
  });

  it.each([['plan:text'], [':number'], ['plan:string, plan:number'], [`${'k'.repeat(256)}:string`]])('refuses %j with a 400 naming the setting', (value) => {
    expect(() => parseForwardAttributes(account(value))).toThrow(DomainError);
    expect(() => parseForwardAttributes(account(value))).toThrow(/account\.account_settings\.forwardAttributes/);
  });

  // Issue 22 §2: a forwarded attribute can never re-address a user or overwrite what Iterable manages.
  it.each([
    ['email', 'email'],
    ['userId:string', 'userId'],
    ['Email', 'Email'],
    ['EMAILLISTIDS:string', 'EMAILLISTIDS'],
    ['phoneNumber', 'phoneNumber'],
    ['plan, signupDate:date', 'signupDate'],
    ['__proto__:string', '__proto__'],
    ['profile.email:string', 'profile.email'],
    ['constructor', 'constructor'],
  ])('refuses %j, naming %s', (value, named) => {
    expect(() => parseForwardAttributes(account(value))).toThrow(DomainError);
    expect(() => parseForwardAttributes(account(value))).toThrow(new RegExp(`"${named.replace('.', '\\.')}"`));
  });

  it('names every refused field of one setting', () => {
    expect(() => parseForwardAttributes(account('email, plan, userId'))).toThrow(/"email".*"userId"/);
  });
});
