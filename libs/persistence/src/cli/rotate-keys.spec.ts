import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { ApiKeyCipher } from '../crypto/api-key-cipher';
import { Database } from '../database';
import { AccountsRepository } from '../repositories/accounts.repository';
import { createMigratedDataSource, DRIVERS, TestDatabase } from '../testing/test-database';

/** The built CLI, as `npm run keys:rotate` runs it (`nx run persistence:build`, which `npm test` runs first). */
const CLI = join(__dirname, '../../dist/cli/rotate-keys.js');

function runRotate(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npx nx run persistence:build\` first (npm test does)`);
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI], { cwd: tmpdir(), env: { PATH: process.env['PATH'] ?? '', ...env }, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe.each(DRIVERS)('npm run keys:rotate (%s)', (driver) => {
  const oldKey = randomBytes(32).toString('base64');
  const newKey = randomBytes(32).toString('base64');
  const apiKeys = ['cli-key-account-1-0123456789abcdef', 'cli-key-account-2-0123456789abcdef'];
  let dataSource: DataSource;
  let database: TestDatabase;

  beforeAll(async () => {
    ({ dataSource, database } = await createMigratedDataSource(driver));
    const before = new AccountsRepository(new Database(dataSource), new ApiKeyCipher(oldKey));
    await before.applyMparticle(1, { apiKey: apiKeys[0], userIdField: 'customerId', dataCenter: 'US' }, 1000);
    await before.upsert(2, { apiKey: apiKeys[1] });
  });
  afterAll(async () => {
    await dataSource.destroy();
    await database.drop();
  });

  it('re-encrypts every stored key under ENCRYPTION_KEY, says how many, prints no key', async () => {
    const env = { NODE_ENV: 'production', DATABASE_URL: database.url, ENCRYPTION_KEY: newKey, ENCRYPTION_KEY_PREVIOUS: oldKey };
    const first = await runRotate(env);
    expect(first).toEqual({
      code: 0,
      stdout: `keys:rotate (${driver}): rewrote 2 of 2 accounts under ENCRYPTION_KEY (API key re-encrypted, fingerprints recomputed); 0 already current\n`,
      stderr: '',
    });
    const after = new AccountsRepository(new Database(dataSource), new ApiKeyCipher(newKey));
    expect((await after.findForDelivery(1))?.iterableApiKey).toBe(apiKeys[0]);
    expect((await after.findForDelivery(2))?.iterableApiKey).toBe(apiKeys[1]);

    const again = await runRotate(env);
    expect(again.stdout).toBe(
      `keys:rotate (${driver}): rewrote 0 of 2 accounts under ENCRYPTION_KEY (API key re-encrypted, fingerprints recomputed); 2 already current\n`,
    );
    for (const output of [first.stdout + first.stderr, again.stdout + again.stderr]) {
      for (const secret of [...apiKeys, oldKey, newKey]) expect(output).not.toContain(secret);
    }
  });

  it('exits 1 naming the accounts whose key decrypts with neither key', async () => {
    const stranger = randomBytes(32).toString('base64');
    const refused = await runRotate({ NODE_ENV: 'production', DATABASE_URL: database.url, ENCRYPTION_KEY: stranger });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe('keys:rotate: the API key of accounts 1, 2 decrypts with neither ENCRYPTION_KEY nor ENCRYPTION_KEY_PREVIOUS: left as it is\n');
  });
});

describe('npm run keys:rotate refusing its configuration', () => {
  it('needs ENCRYPTION_KEY in production and names a bad ENCRYPTION_KEY_PREVIOUS without its value', async () => {
    const missing = await runRotate({ NODE_ENV: 'production', DATABASE_URL: 'sqlite::memory:' });
    expect(missing).toMatchObject({
      code: 1,
      stderr: 'keys:rotate failed: Invalid configuration: ENCRYPTION_KEY: ENCRYPTION_KEY is required when NODE_ENV=production\n',
    });
    const bad = await runRotate({
      NODE_ENV: 'production',
      DATABASE_URL: 'sqlite::memory:',
      ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      ENCRYPTION_KEY_PREVIOUS: 'oops-not-a-key',
    });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /^keys:rotate failed: Invalid configuration: ENCRYPTION_KEY_PREVIOUS \(value hidden\): ENCRYPTION_KEY_PREVIOUS must be 32 bytes/,
    );
    expect(bad.stderr).not.toContain('oops-not-a-key');
  });
});
