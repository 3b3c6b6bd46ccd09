import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { ApiKeyCipher } from '../crypto/api-key-cipher';
import { Database } from '../database';
import { createMigratedDataSource, DRIVERS, TestDatabase } from '../testing/test-database';
import { AccountsRepository } from './accounts.repository';

// Found by the model checker (seed 102 on PostgreSQL): Iterable refused a call made with the old key, the answer
// came after mParticle's new key was stored, and the account was suspended with the good key in force.
describe.each(DRIVERS)('AccountsRepository.suspendForKey on %s', (driver) => {
  let dataSource: DataSource;
  let database: TestDatabase;
  let accounts: AccountsRepository;
  beforeAll(async () => {
    ({ dataSource, database } = await createMigratedDataSource(driver));
    accounts = new AccountsRepository(new Database(dataSource), new ApiKeyCipher(randomBytes(32).toString('base64')));
  });
  afterAll(async () => {
    await dataSource.destroy();
    await database.drop();
  });

  it('suspends for the key in force, and not for a key replaced meanwhile', async () => {
    const settings = { userIdField: 'customerId' as const, dataCenter: 'US' as const };
    await accounts.applyMparticle(1, { ...settings, apiKey: 'old-key-000000000000' }, 1000);
    await accounts.applyMparticle(1, { ...settings, apiKey: 'new-key-000000000000' }, 2000);
    expect(await accounts.suspendForKey(1, 'old-key-000000000000', 'bad api key: Iterable refused the API key')).toBe(false);
    expect((await accounts.find(1))?.status).toBe('active');
    expect(await accounts.suspendForKey(1, 'new-key-000000000000', 'bad api key: Iterable refused the API key')).toBe(true);
    expect((await accounts.find(1))?.status).toBe('suspended');
  });
});
