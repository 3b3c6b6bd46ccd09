import { randomBytes } from 'node:crypto';
import { encryptApiKeyV1 as encryptV1 } from '../testing/legacy-api-key';
import { ApiKeyCipher } from './api-key-cipher';

const withPart = (stored: string, index: number, change: (part: Buffer) => Buffer): string => {
  const parts = stored.split(':');
  parts[index] = change(Buffer.from(parts[index], 'base64')).toString('base64');
  return parts.join(':');
};

describe('ApiKeyCipher', () => {
  const masterKey = randomBytes(32).toString('base64');
  const cipher = new ApiKeyCipher(masterKey);
  const key = 'f3b1c2d4e5f60718293a4b5c6d7e8f90';
  const accountId = 4242;

  it('round-trips and never stores the key in plain text', () => {
    const stored = cipher.encrypt(key, accountId);
    expect(stored).not.toContain(key);
    expect(stored).not.toContain(Buffer.from(key).toString('base64'));
    expect(cipher.decrypt(stored, accountId)).toBe(key);
  });

  it('encrypts the same key differently each time (random IV) but fingerprints it the same', () => {
    expect(cipher.encrypt(key, accountId)).not.toBe(cipher.encrypt(key, accountId));
    expect(cipher.fingerprint(key)).toBe(cipher.fingerprint(key));
    expect(cipher.fingerprint(key)).not.toBe(cipher.fingerprint(`${key}x`));
  });

  it('refuses a tampered ciphertext and a different master key', () => {
    const stored = cipher.encrypt(key, accountId);
    const flipped = withPart(stored, 3, (c) => {
      c[0] ^= 1;
      return c;
    });
    expect(() => cipher.decrypt(flipped, accountId)).toThrow(/does not decrypt/);
    expect(() => new ApiKeyCipher(randomBytes(32).toString('base64')).decrypt(stored, accountId)).toThrow(/does not decrypt/);
  });

  it('refuses a master key that is not 32 bytes', () => {
    expect(() => new ApiKeyCipher(randomBytes(16).toString('base64'))).toThrow(/32 bytes/);
    expect(() => new ApiKeyCipher(masterKey, randomBytes(16).toString('base64'))).toThrow(/ENCRYPTION_KEY_PREVIOUS must be 32 bytes/);
  });

  describe('GCM tag length pinned to 16 bytes', () => {
    it('writes v2 with a 12-byte IV and a 16-byte tag', () => {
      const [version, iv, tag] = cipher.encrypt(key, accountId).split(':');
      expect(version).toBe('v2');
      expect(Buffer.from(iv, 'base64')).toHaveLength(12);
      expect(Buffer.from(tag, 'base64')).toHaveLength(16);
    });

    it.each([4, 8, 12, 15])('refuses a stored tag truncated to %i bytes (GCM would verify a truncated tag)', (length) => {
      const truncated = withPart(cipher.encrypt(key, accountId), 2, (tag) => tag.subarray(0, length));
      expect(() => cipher.decrypt(truncated, accountId)).toThrow(/unreadable API key ciphertext/);
      const truncatedV1 = withPart(encryptV1(masterKey, key), 2, (tag) => tag.subarray(0, length));
      expect(() => cipher.decrypt(truncatedV1, accountId)).toThrow(/unreadable API key ciphertext/);
    });

    it.each(['v2:only:three', 'v3:a:b:c', 'v2:a:b:c:d', ''])('refuses the malformed %j', (stored) => {
      expect(() => cipher.decrypt(stored, accountId)).toThrow(/unreadable API key ciphertext/);
    });
  });

  describe('bound to its account', () => {
    it('a ciphertext copied to another account does not decrypt there', () => {
      const stored = cipher.encrypt(key, 1);
      expect(cipher.decrypt(stored, 1)).toBe(key);
      expect(() => cipher.decrypt(stored, 2)).toThrow(/does not decrypt/);
    });

    it('needs an integer account id', () => {
      expect(() => cipher.encrypt(key, Number.NaN)).toThrow(/integer id of its account/);
      expect(() => cipher.encrypt(key, 1.5)).toThrow(/integer id of its account/);
    });

    it('still reads v1 rows (written before v2, not bound), and says they need rewriting', () => {
      const v1 = encryptV1(masterKey, key);
      expect(cipher.decrypt(v1, accountId)).toBe(key);
      expect(cipher.open(v1, accountId)).toEqual({ plain: key, current: false });
      expect(cipher.open(cipher.encrypt(key, accountId), accountId)).toEqual({ plain: key, current: true });
    });
  });

  describe('rotation (ENCRYPTION_KEY_PREVIOUS)', () => {
    const oldKey = randomBytes(32).toString('base64');
    const newKey = randomBytes(32).toString('base64');
    const before = new ApiKeyCipher(oldKey);
    const during = new ApiKeyCipher(newKey, oldKey);
    const after = new ApiKeyCipher(newKey);

    it('reads what the previous key wrote (v1 and v2), writes only under the current key', () => {
      const v2 = before.encrypt(key, accountId);
      const v1 = encryptV1(oldKey, key);
      expect(during.hasPreviousKey).toBe(true);
      expect(during.open(v2, accountId)).toEqual({ plain: key, current: false });
      expect(during.open(v1, accountId)).toEqual({ plain: key, current: false });
      const rewritten = during.encrypt(key, accountId);
      expect(during.open(rewritten, accountId)).toEqual({ plain: key, current: true });
      expect(after.decrypt(rewritten, accountId)).toBe(key);
      expect(() => before.decrypt(rewritten, accountId)).toThrow(/does not decrypt/);
    });

    it('without the previous key, what it wrote no longer decrypts, and the message says which keys were tried', () => {
      const stored = before.encrypt(key, accountId);
      expect(() => after.decrypt(stored, accountId)).toThrow('API key ciphertext does not decrypt with ENCRYPTION_KEY for this account');
      expect(() => during.decrypt(before.encrypt(key, 1), 2)).toThrow(
        'API key ciphertext does not decrypt with ENCRYPTION_KEY or ENCRYPTION_KEY_PREVIOUS for this account',
      );
    });

    it('fingerprints under the current key only (keys:rotate recomputes the stored ones)', () => {
      expect(during.fingerprint(key)).toBe(after.fingerprint(key));
      expect(during.fingerprint(key)).not.toBe(before.fingerprint(key));
    });
  });
});
