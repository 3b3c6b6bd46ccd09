import { DataSource } from 'typeorm';
import { Database } from '../database';
import { createMigratedDataSource, DRIVERS, TestDatabase, undoMigrationsThrough } from '../testing/test-database';
import { foldMessageCounts, messageCounts } from './message-counts';

/** What `/v1/stats` answered before the counts were kept: every remembered message id, counted. */
async function counted(db: Database): Promise<{ accepted: number; duplicates: number }> {
  const [row] = await db.query<{ n: number | string; d: number | string | null }>(`SELECT COUNT(*) AS n, SUM(duplicate_count) AS d FROM received_messages`);
  return { accepted: Number(row?.n ?? 0), duplicates: Number(row?.d ?? 0) };
}

/** Remembers messages the way ingest does: a repeat of a remembered id counts one more duplicate. */
function remember(db: Database, account: number, ids: string[], manager?: Parameters<Database['query']>[2]) {
  return db.query(
    `INSERT INTO received_messages (account_id, message_id, change_count, duplicate_count, timestamp_ms, received_at)
     VALUES ${ids.map(() => '(?, ?, 1, 0, 1, CURRENT_TIMESTAMP)').join(', ')}
     ON CONFLICT (account_id, message_id) DO UPDATE SET duplicate_count = received_messages.duplicate_count + 1`,
    ids.flatMap((id) => [account, id]),
    manager,
  );
}

describe.each(DRIVERS)('message counts kept by the database on %s', (driver) => {
  let dataSource: DataSource;
  let database: TestDatabase;
  let db: Database;

  beforeEach(async () => {
    ({ dataSource, database } = await createMigratedDataSource(driver));
    db = new Database(dataSource);
  });
  afterEach(async () => {
    await dataSource.destroy();
    await database.drop();
  });

  it('equal COUNT(*) and SUM(duplicate_count) after new messages, repeats (one statement doing both), the prune, folded or not', async () => {
    await remember(db, 1, ['a', 'b', 'c']);
    await remember(db, 2, ['a']);
    expect(await messageCounts(db)).toEqual({ accepted: 4, duplicates: 0 });
    // One statement: two repeats and one new message.
    await remember(db, 1, ['a', 'b', 'd']);
    expect(await messageCounts(db)).toEqual({ accepted: 5, duplicates: 2 });
    await foldMessageCounts(db);
    expect(await messageCounts(db)).toEqual(await counted(db));
    await remember(db, 1, ['a']);
    await db.query(`DELETE FROM received_messages WHERE account_id = 1 AND message_id IN ('a', 'c')`);
    expect(await messageCounts(db)).toEqual({ accepted: 3, duplicates: 1 });
    expect(await messageCounts(db)).toEqual(await counted(db));
    await foldMessageCounts(db);
    expect(await messageCounts(db)).toEqual(await counted(db));
    expect(await foldMessageCounts(db)).toBe(0);
  });

  it('count nothing of a transaction rolled back', async () => {
    await remember(db, 1, ['a']);
    await expect(
      db.transaction(async (manager) => {
        await remember(db, 1, ['a', 'b'], manager);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    await foldMessageCounts(db);
    expect(await messageCounts(db)).toEqual({ accepted: 1, duplicates: 0 });
  });

  it('start from the messages already there when the migration runs', async () => {
    await undoMigrationsThrough(dataSource, 'MessageCounts1797001000000');
    await remember(db, 1, ['a', 'b']);
    await remember(db, 1, ['a']);
    await remember(db, 3, ['x']);
    await dataSource.runMigrations();
    expect(await messageCounts(db)).toEqual({ accepted: 3, duplicates: 1 });
    await remember(db, 3, ['x', 'y']);
    expect(await messageCounts(db)).toEqual(await counted(db));
  });
});

describe('message counts under concurrent ingest on postgres', () => {
  it('add up exactly when accounts ingest in parallel transactions while the counts are folded', async () => {
    const { dataSource, database } = await createMigratedDataSource('postgres');
    const db = new Database(dataSource);
    try {
      const sender = async (account: number) => {
        for (let round = 0; round < 30; round++)
          await db.transaction((manager) => remember(db, account, Array.from({ length: 20 }, (_, i) => `m${(round * 7 + i) % 45}`).sort(), manager));
      };
      let folding = true;
      const folder = (async () => {
        while (folding) await foldMessageCounts(db);
      })();
      await Promise.all([sender(1), sender(2), sender(1), sender(3)]);
      folding = false;
      await folder;
      expect(await messageCounts(db)).toEqual(await counted(db));
      expect(db.contention.deadlocks).toBe(0);
    } finally {
      await dataSource.destroy();
      await database.drop();
    }
  });
});
