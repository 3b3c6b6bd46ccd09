import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

/** v1: `v1:<iv>:<tag>:<ciphertext>`, no associated data. Still read; never written. */
const V1 = 'v1';
/** v2: `v2:<iv>:<tag>:<ciphertext>`, bound to its account (the account id is the GCM associated data). */
const V2 = 'v2';
const IV_BYTES = 12;
/** The GCM tag length, pinned on both sides: a stored tag of any other length is refused, never truncated. */
const TAG_BYTES = 16;

/** The keys derived from one ENCRYPTION_KEY. */
interface DerivedKeys {
  encryption: Buffer;
  fingerprint: Buffer;
  /** Keys the identity hashes of erased subjects (README "Erasure"). */
  tombstone: Buffer;
}

function derive(base64Key: string, name: string): DerivedKeys {
  const master = Buffer.from(base64Key, 'base64');
  if (master.length !== 32) throw new Error(`${name} must be 32 bytes in base64`);
  return {
    encryption: Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), 'audience-bridge api-key encryption', 32)),
    fingerprint: Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), 'audience-bridge api-key fingerprint', 32)),
    tombstone: Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), 'audience-bridge erasure tombstone', 32)),
  };
}

/** The associated data of an account's ciphertext: a ciphertext copied to another account does not decrypt. */
function associatedData(accountId: number): Buffer {
  if (!Number.isSafeInteger(accountId)) throw new Error('an API key ciphertext needs the integer id of its account');
  return Buffer.from(`audience-bridge account ${accountId}`, 'utf8');
}

/** What `open` found: the key, and whether its ciphertext is already in the newest form under the current key. */
export interface OpenedApiKey {
  plain: string;
  /** false for a v1 ciphertext or one that only ENCRYPTION_KEY_PREVIOUS decrypts: `npm run keys:rotate` rewrites it. */
  current: boolean;
}

/**
 * Encrypts Iterable API keys at rest with AES-256-GCM (authenticated: a tampered ciphertext fails to
 * decrypt). The stored form is `v2:<iv>:<tag>:<ciphertext>` in base64, with a 16-byte tag and the account id as
 * associated data, so a ciphertext only decrypts for the account it was written for; `v1:` (no associated
 * data) is still read. `fingerprint` is an HMAC of the key under a separate derived key: it tells whether the
 * key changed without decrypting anything.
 *
 * Rotation: with `previousBase64Key` (ENCRYPTION_KEY_PREVIOUS) a ciphertext the current key does not decrypt
 * is tried with the previous one; everything is written under the current key. Fingerprints are always the
 * current key's: `npm run keys:rotate` re-encrypts every stored key and recomputes the stored fingerprints.
 */
export class ApiKeyCipher {
  private readonly current: DerivedKeys;
  private readonly previous: DerivedKeys | undefined;

  constructor(base64Key: string, previousBase64Key?: string) {
    this.current = derive(base64Key, 'ENCRYPTION_KEY');
    this.previous = previousBase64Key ? derive(previousBase64Key, 'ENCRYPTION_KEY_PREVIOUS') : undefined;
  }

  /** Whether a previous key is configured (reads fall back to it). */
  get hasPreviousKey(): boolean {
    return this.previous !== undefined;
  }

  encrypt(plain: string, accountId: number): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.current.encryption, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(associatedData(accountId));
    const ciphertext = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [V2, iv.toString('base64'), cipher.getAuthTag().toString('base64'), ciphertext.toString('base64')].join(':');
  }

  decrypt(stored: string, accountId: number): string {
    return this.open(stored, accountId).plain;
  }

  /** Decrypts with the current key, then the previous one, and says whether the ciphertext needs rewriting. */
  open(stored: string, accountId: number): OpenedApiKey {
    const parts = stored.split(':');
    const [version, ivText, tagText, ciphertextText] = parts;
    if (parts.length !== 4 || (version !== V1 && version !== V2) || !ivText || !tagText || ciphertextText === undefined) {
      throw new Error('unreadable API key ciphertext');
    }
    const iv = Buffer.from(ivText, 'base64');
    const tag = Buffer.from(tagText, 'base64');
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new Error('unreadable API key ciphertext');
    const ciphertext = Buffer.from(ciphertextText, 'base64');
    const aad = version === V2 ? associatedData(accountId) : undefined;
    const keys = this.previous ? [this.current, this.previous] : [this.current];
    for (const key of keys) {
      const plain = openWith(key.encryption, iv, tag, ciphertext, aad);
      if (plain !== undefined) return { plain, current: key === this.current && version === V2 };
    }
    throw new Error(`API key ciphertext does not decrypt with ENCRYPTION_KEY${this.previous ? ' or ENCRYPTION_KEY_PREVIOUS' : ''} for this account`);
  }

  fingerprint(plain: string): string {
    return createHmac('sha256', this.current.fingerprint).update(plain).digest('hex');
  }

  /**
   * The keyed hash an erased identifier is kept as (`identity` is `<kind>:<value>`, e.g. `email:a@b.io`), bound to
   * its account: under the current key first, then the previous one while ENCRYPTION_KEY_PREVIOUS is set, so
   * tombstones written before a rotation still match during it. (They cannot be re-hashed: the identifier is gone.)
   */
  identityHashes(accountId: number, identity: string): string[] {
    const keys = this.previous ? [this.current, this.previous] : [this.current];
    return keys.map((key) => createHmac('sha256', key.tombstone).update(`${accountId}\n${identity}`).digest('hex'));
  }
}

function openWith(key: Buffer, iv: Buffer, tag: Buffer, ciphertext: Buffer, aad: Buffer | undefined): string | undefined {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    if (aad) decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

/** The most of a key any answer shows: its last 4 characters. */
export function last4(apiKey: string): string {
  return apiKey.slice(-4);
}
