import { randomBytes } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { DataSource } from 'typeorm';
import { ApiKeyCipher } from '../crypto/api-key-cipher';
import { Database } from '../database';
import { tableReads } from '../testing/table-reads';
import { createMigratedDataSource, TestDatabase } from '../testing/test-database';
import { applyAccountSettings, applyConnection } from './mparticle-settings';

// Found by `npm run bench:size` (10 million memberships, 5 million remembered message ids): every mParticle erasure
// request took 400 – 500 ms, all of it in applying the account's settings, whose "no newer message stated otherwise"
// check read every remembered message id (a sequential scan: the newer-than bound is a column of the row, so
// PostgreSQL guessed a third of the table matched and expected to find one at once). Newest-wins checks must descend
// the (account, timestamp) index, whatever the table holds.
describe('newest-wins checks of mParticle settings on PostgreSQL', () => {
  let dataSource: DataSource;
  let database: TestDatabase;
  let db: Database;
  const cipher = new ApiKeyCipher(randomBytes(32).toString('base64'));
  const settings = { userIdField: 'customerId' as const, dataCenter: 'US' as const, apiKey: 'key-0000000000000000' };

  beforeAll(async () => {
    ({ dataSource, database } = await createMigratedDataSource('postgres'));
    db = new Database(dataSource);
    await applyAccountSettings(db, cipher, undefined, 1, settings, 1000);
    await applyConnection(db, undefined, 1, { audienceId: 7, audienceName: 'A', listId: 70 }, 1000);
    // Remembered message ids of five accounts, older than what is applied below; the planner knows the table's size.
    await db.query(
      `INSERT INTO received_messages (account_id, message_id, change_count, duplicate_count, timestamp_ms, stated_audiences, received_at)
       SELECT 1 + n % 5, 'm' || n, 1, 0, 2000 + n, ',7,', CURRENT_TIMESTAMP FROM generate_series(1, 60000) n`,
    );
    await db.query(`ANALYZE received_messages`);
  });
  afterAll(async () => {
    await dataSource.destroy();
    await database.drop();
  });

  const scans = <T>(work: (manager: EntityManager) => Promise<T>) => tableReads(db, 'received_messages', work);

  it("an account's settings: applied when newer than every remembered message, through the index", async () => {
    const newer = await scans((m) => applyAccountSettings(db, cipher, m, 1, { ...settings, apiKey: 'key-1111111111111111' }, 100_000));
    expect(newer.result).toMatchObject({ applied: true, keyChanged: true });
    expect(newer.seqScans).toBe(0);
    expect(newer.indexScans).toBeGreaterThan(0);
    // Older than a remembered message of the account: not applied, still through the index.
    const older = await scans((m) => applyAccountSettings(db, cipher, m, 1, { ...settings, apiKey: 'key-2222222222222222' }, 100_001 - 90_000));
    expect(older.result).toMatchObject({ applied: false });
    expect(older.seqScans).toBe(0);
  });

  it("an audience's connection: moved when newer than every message that stated it, through the index", async () => {
    const newer = await scans((m) => applyConnection(db, m, 1, { audienceId: 7, audienceName: 'A', listId: 71 }, 100_000));
    expect(newer.result).toMatchObject({ listId: 71 });
    expect(newer.seqScans).toBe(0);
    const older = await scans((m) => applyConnection(db, m, 1, { audienceId: 7, audienceName: 'A', listId: 72 }, 100_001 - 90_000));
    expect(older.result).toMatchObject({ listId: 71 });
    expect(older.seqScans).toBe(0);
  });
});
