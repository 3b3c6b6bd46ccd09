import { createCipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * A `v1:` API key ciphertext exactly as ApiKeyCipher wrote them before v2 (no associated data, not bound to an
 * account): what older rows hold, for tests that the cipher still reads them and keys:rotate rewrites them.
 */
export function encryptApiKeyV1(base64Key: string, plain: string): string {
  const key = Buffer.from(hkdfSync('sha256', Buffer.from(base64Key, 'base64'), Buffer.alloc(0), 'audience-bridge api-key encryption', 32));
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ciphertext = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64'), cipher.getAuthTag().toString('base64'), ciphertext.toString('base64')].join(':');
}
