import { holdsIdentifier } from './traces';

// The erasure check looks for an erased subject's identifiers in every table and log (model checker seed 2086 found
// "cust-7001-1" in rows of cust-7001-10 … 15: a false alarm of a plain substring search).
describe('holdsIdentifier', () => {
  it.each([
    ['{"user_id":"cust-7001-1"}', 'cust-7001-1', true],
    ['{"user_id":"cust-7001-14"}', 'cust-7001-1', false],
    ['[\\"u1.7001@example.com\\"]', 'u1.7001@example.com', true],
    ['sent to u1.7001@example.com.', 'u1.7001@example.com', true],
    ['au1.7001@example.com', 'u1.7001@example.com', false],
    ['u1.7001@example.com.au', 'u1.7001@example.com', false],
    ['{"email":"x.u1.7001@example.com"}', 'u1.7001@example.com', false],
  ])('%s holds %s: %s', (text, trace, expected) => {
    expect(holdsIdentifier(text, trace)).toBe(expected);
  });
});
