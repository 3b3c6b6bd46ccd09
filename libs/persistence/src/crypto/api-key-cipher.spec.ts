import { randomBytes } from 'node:crypto';
import { ApiKeyCipher } from './api-key-cipher';

describe('ApiKeyCipher', () => {
  const cipher = new ApiKeyCipher(randomBytes(32).toString('base64'));
  const key = 'f3b1c2d4e5f60718293a4b5c6d7e8f90';

  it('round-trips and never stores the key in plain text', () => {
    const stored = cipher.encrypt(key);
    expect(stored).not.toContain(key);
    expect(stored).not.toContain(Buffer.from(key).toString('base64'));
    expect(cipher.decrypt(stored)).toBe(key);
  });

  it('encrypts the same key differently each time (random IV) but fingerprints it the same', () => {
    expect(cipher.encrypt(key)).not.toBe(cipher.encrypt(key));
    expect(cipher.fingerprint(key)).toBe(cipher.fingerprint(key));
    expect(cipher.fingerprint(key)).not.toBe(cipher.fingerprint(`${key}x`));
  });

  it('refuses a tampered ciphertext and a different master key', () => {
    const stored = cipher.encrypt(key);
    const parts = stored.split(':');
    const flipped = Buffer.from(parts[3], 'base64');
    flipped[0] ^= 1;
    expect(() => cipher.decrypt([...parts.slice(0, 3), flipped.toString('base64')].join(':'))).toThrow(/does not decrypt/);
    expect(() => new ApiKeyCipher(randomBytes(32).toString('base64')).decrypt(stored)).toThrow(/does not decrypt/);
  });

  it('refuses a master key that is not 32 bytes', () => {
    expect(() => new ApiKeyCipher(randomBytes(16).toString('base64'))).toThrow(/32 bytes/);
  });
});
