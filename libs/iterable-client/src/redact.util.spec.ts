import { redactingLogger, redactSecrets } from './redact.util';

describe('redactSecrets', () => {
  it.each([
    ['a plain occurrence', 'key=abc123 end', ['abc123'], 'key=[REDACTED] end'],
    ['every occurrence', 'abc123abc123', ['abc123'], '[REDACTED][REDACTED]'],
    ['the URL-encoded form', 'q=a%2Bb%2Fc', ['a+b/c'], 'q=[REDACTED]'],
    ['several secrets', 'one two', ['one', 'two'], '[REDACTED] [REDACTED]'],
    ['nothing to hide', 'hello', ['abc'], 'hello'],
    ['an empty secret is ignored', 'hello', [''], 'hello'],
  ])('%s', (_name, text, secrets, expected) => {
    expect(redactSecrets(text, secrets)).toBe(expected);
  });

  it('a redacting logger never passes the secret on, at any level', () => {
    const seen: string[] = [];
    const logger = redactingLogger({ debug: (m) => seen.push(m), warn: (m) => seen.push(m), error: (m) => seen.push(m) }, ['s3cr3t']);
    logger.debug('d s3cr3t');
    logger.warn('w s3cr3t');
    logger.error('e s3cr3t');
    expect(seen).toEqual(['d [REDACTED]', 'w [REDACTED]', 'e [REDACTED]']);
  });
});
