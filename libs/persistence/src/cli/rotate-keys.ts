import 'reflect-metadata';
import { bootFailureMessage, DEV_SECRETS_FILE, storedDevelopmentSecrets, validateKeyRotationEnvironment } from '@audience-bridge/config';
import { rotateApiKeys } from '../crypto/key-rotation';
import { createDataSource, driverOf } from '../data-source';
import { Database } from '../database';

/**
 * `npm run keys:rotate`: re-encrypts every stored Iterable API key under ENCRYPTION_KEY (reading those written
 * under ENCRYPTION_KEY_PREVIOUS) and recomputes their fingerprints; says how many it rewrote, never a key.
 * Needs DATABASE_URL and ENCRYPTION_KEY (outside production, the key of data/dev-secrets.json when unset).
 * Exits 1 when a stored key decrypts with neither key.
 */
async function main(): Promise<number> {
  const env = validateKeyRotationEnvironment(process.env);
  const encryptionKey = env.ENCRYPTION_KEY ?? storedDevelopmentSecrets().ENCRYPTION_KEY;
  if (encryptionKey === undefined) throw new Error(`ENCRYPTION_KEY is not set and ${DEV_SECRETS_FILE} holds none`);
  const driver = driverOf(env.DATABASE_URL);
  const dataSource = createDataSource(env.DATABASE_URL);
  await dataSource.initialize();
  try {
    const result = await rotateApiKeys(new Database(dataSource), {
      encryptionKey,
      ...(env.ENCRYPTION_KEY_PREVIOUS ? { previousEncryptionKey: env.ENCRYPTION_KEY_PREVIOUS } : {}),
    });
    process.stdout.write(
      `keys:rotate (${driver}): rewrote ${result.rewritten} of ${result.accounts} accounts under ENCRYPTION_KEY ` +
        `(API key re-encrypted, fingerprints recomputed); ${result.upToDate} already current\n`,
    );
    if (result.settingsNotRecomputed.length > 0) {
      process.stdout.write(
        `keys:rotate: the hash of mParticle's last settings could not be recomputed for accounts ${result.settingsNotRecomputed.join(', ')} ` +
          `(an operator replaced mParticle's API key): their next mParticle message is applied as a change of settings\n`,
      );
    }
    if (result.unreadable.length > 0) {
      process.stderr.write(
        `keys:rotate: the API key of accounts ${result.unreadable.join(', ')} decrypts with neither ENCRYPTION_KEY nor ENCRYPTION_KEY_PREVIOUS: ` +
          `left as it is\n`,
      );
      return 1;
    }
    return 0;
  } finally {
    await dataSource.destroy();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`keys:rotate failed: ${bootFailureMessage(error)}\n`);
    process.exit(1);
  },
);
