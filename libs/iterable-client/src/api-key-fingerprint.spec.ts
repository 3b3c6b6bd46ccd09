import { createHash, randomBytes } from 'node:crypto';
import { apiKeyFingerprint } from './iterable-rate.limiter';

describe('apiKeyFingerprint (how Redis keys name an API key)', () => {
  const apiKey = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
  const saved = process.env['ENCRYPTION_KEY'];
  afterEach(() => {
    if (saved === undefined) delete process.env['ENCRYPTION_KEY'];
    else process.env['ENCRYPTION_KEY'] = saved;
  });

  it('is keyed by ENCRYPTION_KEY: not a plain hash of the key, so knowing a key does not find its Redis keys', () => {
    process.env['ENCRYPTION_KEY'] = randomBytes(32).toString('base64');
    const fingerprint = apiKeyFingerprint(apiKey);
    expect(fingerprint).toMatch(/^[0-9a-f]{32}$/);
    expect(fingerprint).toBe(apiKeyFingerprint(apiKey));
    expect(fingerprint).not.toBe(createHash('sha256').update(apiKey, 'utf8').digest('hex').slice(0, 32));
    expect(fingerprint).not.toContain(apiKey);

    process.env['ENCRYPTION_KEY'] = randomBytes(32).toString('base64');
    expect(apiKeyFingerprint(apiKey)).not.toBe(fingerprint);
  });

  it('is the same in every process sharing ENCRYPTION_KEY (the limit is shared through Redis)', () => {
    const key = randomBytes(32).toString('base64');
    process.env['ENCRYPTION_KEY'] = key;
    const here = apiKeyFingerprint(apiKey);
    process.env['ENCRYPTION_KEY'] = randomBytes(32).toString('base64');
    process.env['ENCRYPTION_KEY'] = key;
    expect(apiKeyFingerprint(apiKey)).toBe(here);
    expect(apiKeyFingerprint(`${apiKey}x`)).not.toBe(here);
  });
});
