import { isValidEmail, isValidUserId, normalizeEmail } from './identifiers.util';

describe('isValidUserId', () => {
  it.each([
    ['a plain id', 'u-42', true],
    ['exactly 52 characters', 'x'.repeat(52), true],
    ['inner spaces', 'user 42', true],
    ['empty', '', false],
    ['53 characters', 'x'.repeat(53), false],
    ['a trailing space', 'u-42 ', false],
    ['non-ASCII', 'usér', false],
    ['a control character', 'u\u0007', false],
    ['a tab', 'u\t1', false],
  ])('%s → %s', (_name, userId, expected) => {
    expect(isValidUserId(userId)).toBe(expected);
  });
});

describe('isValidEmail', () => {
  it.each([
    ['a plain address', 'alice@example.com', true],
    ['upper case', 'Alice@Example.COM', true],
    ['plus addressing', 'a+tag@mail.example.co.uk', true],
    ['a placeholder', 'abc@placeholder.email', true],
    ['no domain', 'bad@', false],
    ['no at', 'alice.example.com', false],
    ['a space', 'user @example.com', false],
    ['two ats', 'a@b@example.com', false],
    ['no dot in the domain', 'a@localhost', false],
    ['an empty label', 'a@example..com', false],
    ['empty', '', false],
  ])('%s → %s', (_name, email, expected) => {
    expect(isValidEmail(email)).toBe(expected);
  });

  it('lower-cases emails as Iterable stores them', () => {
    expect(normalizeEmail('Alice@Example.COM')).toBe('alice@example.com');
  });
});
