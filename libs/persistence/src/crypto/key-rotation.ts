import { DATA_CENTERS, DataCenter, USER_ID_FIELDS, UserIdField } from '@audience-bridge/domain';
import type { Database } from '../database';
import { mparticleSettingsHash } from '../repositories/mparticle-settings';
import { ApiKeyCipher } from './api-key-cipher';

export interface KeyRotationKeys {
  /** ENCRYPTION_KEY: everything is rewritten under it. */
  encryptionKey: string;
  /** ENCRYPTION_KEY_PREVIOUS: what the keys not yet rotated were written with. */
  previousEncryptionKey?: string;
}

export interface KeyRotationResult {
  /** Accounts looked at (every row of `accounts`). */
  accounts: number;
  /** Accounts whose row was rewritten: API key re-encrypted (v2, current key) and fingerprints recomputed. */
  rewritten: number;
  /** Accounts with a stored API key, already v2 under the current key with current fingerprints. */
  upToDate: number;
  /**
   * Accounts whose hash of mParticle's last settings matched no candidate under either key (an operator
   * replaced mParticle's key, so the key mParticle sent is not stored): kept; the next message from
   * mParticle for the account is taken as a change of its settings.
   */
  settingsNotRecomputed: number[];
  /** Accounts whose API key decrypts with neither key: left as they are. */
  unreadable: number[];
}

interface AccountRow {
  account_id: string | number;
  api_key_ciphertext: string | null;
  api_key_fingerprint: string | null;
  user_id_field: UserIdField;
  data_center: DataCenter;
  mparticle_settings: string | null;
}

/** A row as it should be under the current key, or `unreadable`. */
interface Rewritten {
  ciphertext: string | null;
  fingerprint: string | null;
  settings: string | null;
  settingsRecognised: boolean;
}

/**
 * `npm run keys:rotate`: re-encrypts every stored Iterable API key under ENCRYPTION_KEY (v2, bound to its
 * account), reading it with ENCRYPTION_KEY or ENCRYPTION_KEY_PREVIOUS, and recomputes what was keyed with the
 * previous key: the key's fingerprint (compared to tell a new key from the same one) and the hash of
 * mParticle's last settings (compared so only a change of mParticle's values is applied). Safe while the apps
 * run: each row is replaced only if it still holds what was read (else it is read again), and running it again
 * rewrites nothing. Never returns or logs a key.
 */
export async function rotateApiKeys(db: Database, keys: KeyRotationKeys): Promise<KeyRotationResult> {
  const cipher = new ApiKeyCipher(keys.encryptionKey, keys.previousEncryptionKey);
  const previous = keys.previousEncryptionKey ? new ApiKeyCipher(keys.previousEncryptionKey) : undefined;
  const ids = await db.query<{ account_id: string | number }>(`SELECT account_id FROM accounts ORDER BY account_id`);
  const result: KeyRotationResult = { accounts: ids.length, rewritten: 0, upToDate: 0, settingsNotRecomputed: [], unreadable: [] };
  for (const { account_id } of ids) {
    const accountId = Number(account_id);
    for (let attempt = 1; ; attempt++) {
      const [row] = await db.query<AccountRow>(
        `SELECT account_id, api_key_ciphertext, api_key_fingerprint, user_id_field, data_center, mparticle_settings FROM accounts WHERE account_id = ?`,
        [accountId],
      );
      if (!row) break;
      let next: Rewritten;
      try {
        next = rewrite(cipher, previous, accountId, row);
      } catch {
        result.unreadable.push(accountId);
        break;
      }
      if (next.ciphertext === row.api_key_ciphertext && next.fingerprint === row.api_key_fingerprint && next.settings === row.mparticle_settings) {
        if (row.api_key_ciphertext !== null) result.upToDate++;
        if (!next.settingsRecognised) result.settingsNotRecomputed.push(accountId);
        break;
      }
      // Replaced only if nothing changed it since it was read (an app may be writing a new key meanwhile).
      const { affected } = await db.execute(
        `UPDATE accounts SET api_key_ciphertext = ?, api_key_fingerprint = ?, mparticle_settings = ?
         WHERE account_id = ? AND COALESCE(api_key_ciphertext, '') = ? AND COALESCE(api_key_fingerprint, '') = ? AND COALESCE(mparticle_settings, '') = ?`,
        [
          next.ciphertext,
          next.fingerprint,
          next.settings,
          accountId,
          row.api_key_ciphertext ?? '',
          row.api_key_fingerprint ?? '',
          row.mparticle_settings ?? '',
        ],
      );
      if (affected > 0) {
        result.rewritten++;
        if (!next.settingsRecognised) result.settingsNotRecomputed.push(accountId);
        break;
      }
      if (attempt >= 5) throw new Error(`account ${accountId} kept changing while its API key was rotated; run keys:rotate again`);
    }
  }
  return result;
}

function rewrite(cipher: ApiKeyCipher, previous: ApiKeyCipher | undefined, accountId: number, row: AccountRow): Rewritten {
  const opened = row.api_key_ciphertext === null ? undefined : cipher.open(row.api_key_ciphertext, accountId);
  const apiKey = opened?.plain;
  const settings = recomputeSettings(cipher, previous, apiKey, row);
  return {
    ciphertext: row.api_key_ciphertext === null || opened?.current ? row.api_key_ciphertext : cipher.encrypt(apiKey as string, accountId),
    fingerprint: apiKey === undefined ? row.api_key_fingerprint : cipher.fingerprint(apiKey),
    settings: settings === undefined ? row.mparticle_settings : settings,
    settingsRecognised: settings !== undefined,
  };
}

/**
 * The hash of mParticle's last settings, under the current key. It was made from what mParticle sent (its key,
 * or none, its userIdField and dataCenter), which is what is stored unless an operator overrode it: every
 * combination of the stored key (or none) and the possible userIdField and dataCenter is tried, under the
 * current key (already rotated) and the previous one. `null` when there is none (mParticle never sent settings),
 * `undefined` when none matches.
 */
function recomputeSettings(cipher: ApiKeyCipher, previous: ApiKeyCipher | undefined, apiKey: string | undefined, row: AccountRow): string | null | undefined {
  if (row.mparticle_settings === null) return null;
  const first = <T>(stored: T, all: readonly T[]): T[] => [stored, ...all.filter((v) => v !== stored)];
  for (const key of apiKey === undefined ? [undefined] : [apiKey, undefined]) {
    for (const userIdField of first(row.user_id_field, USER_ID_FIELDS)) {
      for (const dataCenter of first(row.data_center, DATA_CENTERS)) {
        const settings = { ...(key === undefined ? {} : { apiKey: key }), userIdField, dataCenter };
        const now = mparticleSettingsHash(cipher, settings);
        if (now === row.mparticle_settings) return now;
        if (previous && mparticleSettingsHash(previous, settings) === row.mparticle_settings) return now;
      }
    }
  }
  return undefined;
}
