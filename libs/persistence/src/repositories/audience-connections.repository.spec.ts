import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { ApiKeyCipher } from '../crypto/api-key-cipher';
import { Database } from '../database';
import { createMigratedDataSource, DRIVERS, TestDatabase } from '../testing/test-database';
import { AccountsRepository } from './accounts.repository';
import { AudienceConnectionsRepository } from './audience-connections.repository';

describe.each(DRIVERS)('AudienceConnectionsRepository.suspendedCounts on %s', (driver) => {
  let dataSource: DataSource;
  let database: TestDatabase;
  let accounts: AccountsRepository;
  let connections: AudienceConnectionsRepository;
  beforeAll(async () => {
    ({ dataSource, database } = await createMigratedDataSource(driver));
    const db = new Database(dataSource);
    accounts = new AccountsRepository(db, new ApiKeyCipher(randomBytes(32).toString('base64')));
    connections = new AudienceConnectionsRepository(db);
  });
  afterAll(async () => {
    await dataSource.destroy();
    await database.drop();
  });

  it('counts suspended accounts and suspended audiences, not removed or active ones', async () => {
    expect(await connections.suspendedCounts()).toEqual({ accounts: 0, audiences: 0 });
    const settings = { userIdField: 'customerId' as const, dataCenter: 'US' as const };
    for (const accountId of [1, 2, 3]) await accounts.applyMparticle(accountId, { ...settings, apiKey: `key-${accountId}-000000000000` }, 1000);
    await accounts.suspend(2, 'bad api key: Iterable refused the API key');
    await connections.upsert(1, 10, { audienceName: 'a', listId: 100 });
    await connections.upsert(1, 11, { audienceName: 'b', listId: 101, status: 'suspended' });
    await connections.upsert(3, 12, { audienceName: 'c', listId: 102, status: 'suspended' });
    await connections.upsert(3, 13, { audienceName: 'd', listId: 103, status: 'removed' });
    expect(await connections.suspendedCounts()).toEqual({ accounts: 1, audiences: 2 });
    await connections.upsert(3, 12, { status: 'active' });
    expect(await connections.suspendedCounts()).toEqual({ accounts: 1, audiences: 1 });
  });
});
