import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 'v1';

/**
 * Encrypts Iterable API keys at rest with AES-256-GCM (authenticated: a tampered ciphertext fails to
 * decrypt). The stored form is `v1:<iv>:<tag>:<ciphertext>` in base64. `fingerprint` is an HMAC of the
 * key under a separate derived key: it tells whether the key changed without decrypting anything.
 */
export class ApiKeyCipher {
  private readonly encryptionKey: Buffer;
  private readonly fingerprintKey: Buffer;

  constructor(base64Key: string) {
    const master = Buffer.from(base64Key, 'base64');
    if (master.length !== 32) throw new Error('ENCRYPTION_KEY must be 32 bytes in base64');
    this.encryptionKey = Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), 'audience-bridge api-key encryption', 32));
    this.fingerprintKey = Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), 'audience-bridge api-key fingerprint', 32));
  }

  encrypt(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.encryptionKey, iv);
    const ciphertext = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [VERSION, iv.toString('base64'), cipher.getAuthTag().toString('base64'), ciphertext.toString('base64')].join(':');
  }

  decrypt(stored: string): string {
    const [version, iv, tag, ciphertext] = stored.split(':');
    if (version !== VERSION || !iv || !tag || ciphertext === undefined) throw new Error('unreadable API key ciphertext');
    const decipher = createDecipheriv('aes-256-gcm', this.encryptionKey, Buffer.from(iv, 'base64'));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    try {
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64')), decipher.final()]).toString('utf8');
    } catch {
      throw new Error('API key ciphertext does not decrypt with this ENCRYPTION_KEY');
    }
  }

  fingerprint(plain: string): string {
    return createHmac('sha256', this.fingerprintKey).update(plain).digest('hex');
  }
}

/** The most of a key any answer shows: its last 4 characters. */
export function last4(apiKey: string): string {
  return apiKey.slice(-4);
}
