import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { Database } from '../database';
import { AccountsRepository } from '../repositories/accounts.repository';
import { MembershipIngestRepository, MembershipMessage } from '../repositories/membership-ingest.repository';
import { IncomingAccountSettings } from '../repositories/mparticle-settings';
import { encryptApiKeyV1 } from '../testing/legacy-api-key';
import { createMigratedDataSource, DRIVERS, TestDatabase } from '../testing/test-database';
import { ApiKeyCipher } from './api-key-cipher';
import { rotateApiKeys } from './key-rotation';

const OLD_KEY = randomBytes(32).toString('base64');
const NEW_KEY = randomBytes(32).toString('base64');
const API_KEYS: Record<number, string> = {
  1: 'key-of-account-1-0123456789abcdef01',
  2: 'key-of-account-2-0123456789abcdef02',
  3: 'key-of-account-3-0123456789abcdef03',
  4: 'key-of-account-4-0123456789abcdef04',
};
const OPERATOR_KEY = 'operator-key-2-0123456789abcdef0202';

const settings = (accountId: number, apiKey: string | undefined = API_KEYS[accountId]): IncomingAccountSettings => ({
  ...(apiKey === undefined ? {} : { apiKey }),
  userIdField: 'customerId',
  dataCenter: 'US',
});

const message = (accountId: number, messageId: string, timestampMs: number, apiKey?: string): MembershipMessage => ({
  accountId,
  messageId,
  timestampMs,
  settings: settings(accountId, apiKey),
  connections: [],
  changes: [],
});

describe.each(DRIVERS)('keys:rotate on %s', (driver) => {
  let dataSource: DataSource;
  let database: TestDatabase;
  let db: Database;

  beforeAll(async () => {
    ({ dataSource, database } = await createMigratedDataSource(driver));
    db = new Database(dataSource);
  });
  afterAll(async () => {
    await dataSource.destroy();
    await database.drop();
  });
  beforeEach(async () => {
    for (const table of ['received_messages', 'audience_connections', 'accounts', 'sync_inbox']) await dataSource.query(`DELETE FROM ${table}`);
    // Written under the old key, as the apps did before the rotation:
    const before = new AccountsRepository(db, new ApiKeyCipher(OLD_KEY));
    await before.applyMparticle(1, settings(1), 1000); // mParticle's key
    await before.applyMparticle(2, settings(2), 1000); // mParticle's key, then an operator's
    await before.upsert(2, { apiKey: OPERATOR_KEY });
    await before.upsert(3, { apiKey: API_KEYS[3] }); // an operator's key, mParticle never sent settings
    await before.applyMparticle(4, settings(4), 1000); // then stored as v1, like rows written before v2
    await db.query(`UPDATE accounts SET api_key_ciphertext = ? WHERE account_id = 4`, [encryptApiKeyV1(OLD_KEY, API_KEYS[4])]);
    await before.applyMparticle(5, settings(5, undefined), 1000); // mParticle's settings without a key
  });

  const rows = () =>
    dataSource.query(`SELECT account_id, api_key_ciphertext, api_key_fingerprint, mparticle_settings FROM accounts ORDER BY account_id`) as Promise<
      { account_id: string | number; api_key_ciphertext: string | null; api_key_fingerprint: string | null; mparticle_settings: string | null }[]
    >;

  it('re-encrypts every key under the current key (v2, bound to its account), readable without the previous key, and says how many', async () => {
    const result = await rotateApiKeys(db, { encryptionKey: NEW_KEY, previousEncryptionKey: OLD_KEY });
    expect(result).toEqual({ accounts: 5, rewritten: 5, upToDate: 0, settingsNotRecomputed: [2], unreadable: [] });

    const stored = await rows();
    for (const row of stored) {
      if (row.api_key_ciphertext !== null) expect(row.api_key_ciphertext).toMatch(/^v2:/);
      for (const key of [...Object.values(API_KEYS), OPERATOR_KEY]) expect(JSON.stringify(row)).not.toContain(key);
    }
    const after = new AccountsRepository(db, new ApiKeyCipher(NEW_KEY));
    expect((await after.findForDelivery(1))?.iterableApiKey).toBe(API_KEYS[1]);
    expect((await after.findForDelivery(2))?.iterableApiKey).toBe(OPERATOR_KEY);
    expect((await after.findForDelivery(3))?.iterableApiKey).toBe(API_KEYS[3]);
    expect((await after.findForDelivery(4))?.iterableApiKey).toBe(API_KEYS[4]);
    expect((await after.findForDelivery(5))?.iterableApiKey).toBe('');
    await expect(new AccountsRepository(db, new ApiKeyCipher(OLD_KEY)).findForDelivery(1)).rejects.toThrow(/does not decrypt/);

    // A ciphertext copied to another account does not decrypt there.
    await db.query(`UPDATE accounts SET api_key_ciphertext = ? WHERE account_id = 3`, [stored[0].api_key_ciphertext]);
    await expect(after.findForDelivery(3)).rejects.toThrow(/does not decrypt/);
  });

  it('keeps change detection working under the new key alone: the same key is not a new key, the same settings are not a change', async () => {
    await rotateApiKeys(db, { encryptionKey: NEW_KEY, previousEncryptionKey: OLD_KEY });
    const after = new ApiKeyCipher(NEW_KEY);
    const accounts = new AccountsRepository(db, after);
    const ingest = new MembershipIngestRepository(db, after, 0);

    // mParticle repeats its settings: nothing applied, no key change (so no lists re-sent, nothing counted).
    expect(await accounts.applyMparticle(1, settings(1), 2000)).toEqual({ applied: false, keyChanged: false });
    expect(await accounts.applyMparticle(4, settings(4), 2000)).toEqual({ applied: false, keyChanged: false });
    expect(await accounts.applyMparticle(5, settings(5, undefined), 2000)).toEqual({ applied: false, keyChanged: false });
    expect((await ingest.record(message(1, 'm1', 3000))).keyChanged).toBe(false);
    expect(await dataSource.query(`SELECT * FROM sync_inbox`)).toEqual([]);

    // An operator setting the same key again is no new key: a suspension for a bad key stays.
    await accounts.suspend(3, 'bad api key (401)');
    expect((await accounts.upsert(3, { apiKey: API_KEYS[3] })).status).toBe('suspended');

    // A new key is still seen as one.
    expect(await accounts.applyMparticle(1, settings(1, 'a-brand-new-key-0123456789abcdef'), 4000)).toEqual({ applied: true, keyChanged: true });
  });

  it('until keys:rotate has run, apps on the new key take the same key for a new one (why the README says to run it right away)', async () => {
    const accounts = new AccountsRepository(db, new ApiKeyCipher(NEW_KEY, OLD_KEY));
    expect(await accounts.applyMparticle(1, settings(1), 2000)).toEqual({ applied: true, keyChanged: true });
  });

  it('rewrites nothing the second time', async () => {
    await rotateApiKeys(db, { encryptionKey: NEW_KEY, previousEncryptionKey: OLD_KEY });
    const once = await rows();
    expect(await rotateApiKeys(db, { encryptionKey: NEW_KEY, previousEncryptionKey: OLD_KEY })).toEqual({
      accounts: 5,
      rewritten: 0,
      upToDate: 4,
      settingsNotRecomputed: [2],
      unreadable: [],
    });
    expect(await rows()).toEqual(once);
  });

  it('moves v1 rows to v2 under the same key (no previous key needed) without changing fingerprints', async () => {
    const before = await rows();
    const result = await rotateApiKeys(db, { encryptionKey: OLD_KEY });
    expect(result).toEqual({ accounts: 5, rewritten: 1, upToDate: 3, settingsNotRecomputed: [2], unreadable: [] });
    const after = await rows();
    expect(after[3].api_key_ciphertext).toMatch(/^v2:/);
    expect(after.map((r) => [r.api_key_fingerprint, r.mparticle_settings])).toEqual(before.map((r) => [r.api_key_fingerprint, r.mparticle_settings]));
  });

  it('leaves a key that decrypts with neither key as it is, and names its account', async () => {
    const stranger = new ApiKeyCipher(randomBytes(32).toString('base64')).encrypt('some-key', 3);
    await db.query(`UPDATE accounts SET api_key_ciphertext = ? WHERE account_id = 3`, [stranger]);
    const result = await rotateApiKeys(db, { encryptionKey: NEW_KEY, previousEncryptionKey: OLD_KEY });
    expect(result).toMatchObject({ accounts: 5, rewritten: 4, unreadable: [3] });
    expect((await rows())[2].api_key_ciphertext).toBe(stranger);
  });
});
