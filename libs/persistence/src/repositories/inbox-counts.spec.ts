import { DataSource } from 'typeorm';
import { Database } from '../database';
import { createMigratedDataSource, DRIVERS, TestDatabase, undoMigrationsThrough } from '../testing/test-database';
import { foldInboxCounts, inboxBacklog } from './inbox-counts';
import { appendInbox } from './sync-inbox';

/** What the connections, `/v1/stats` and `/metrics` read before the counts were kept: the inbox, counted. */
async function counted(db: Database): Promise<{ listId: number; n: number }[]> {
  const rows = await db.query<{ list_id: number | string; n: number | string }>(
    `SELECT list_id, COUNT(*) AS n FROM sync_inbox GROUP BY list_id ORDER BY list_id`,
  );
  return rows.map((r) => ({ listId: Number(r.list_id), n: Number(r.n) }));
}

const kept = async (db: Database) => (await inboxBacklog(db)).map(({ listId, n }) => ({ listId, n }));

/** Settles waiting rows the way the worker does: deletes them by id. */
async function settle(db: Database, listId: number, howMany: number, manager?: Parameters<Database['query']>[2]): Promise<void> {
  const ids = await db.query<{ id: number | string }>(`SELECT id FROM sync_inbox WHERE list_id = ? ORDER BY id LIMIT ?`, [listId, howMany], manager);
  if (ids.length > 0)
    await db.query(
      `DELETE FROM sync_inbox WHERE id IN (${ids.map(() => '?').join(', ')})`,
      ids.map((r) => Number(r.id)),
      manager,
    );
}

describe.each(DRIVERS)('inbox counts kept by the database on %s', (driver) => {
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

  it('equal COUNT(*) per list after appends, whole-list rows and settlements, folded or not, and leave out lists with nothing waiting', async () => {
    await appendInbox(db, [{ listId: 7, email: 'a@x.io' }, { listId: 7, email: 'b@x.io' }, { listId: 9, email: 'a@x.io' }, { listId: 9 }]);
    expect(await kept(db)).toEqual([
      { listId: 7, n: 2 },
      { listId: 9, n: 2 },
    ]);
    await foldInboxCounts(db);
    await settle(db, 9, 2);
    await appendInbox(db, [{ listId: 7, email: 'c@x.io' }]);
    expect(await kept(db)).toEqual([{ listId: 7, n: 3 }]);
    expect(await kept(db)).toEqual(await counted(db));
    await foldInboxCounts(db);
    expect(await kept(db)).toEqual(await counted(db));
    expect(await foldInboxCounts(db)).toBe(0);
  });

  it('date each list by its first waiting row', async () => {
    await appendInbox(db, [{ listId: 7, email: 'a@x.io' }], undefined, 1_000);
    await appendInbox(
      db,
      [
        { listId: 7, email: 'b@x.io' },
        { listId: 8, email: 'b@x.io' },
      ],
      undefined,
      2_000,
    );
    expect(await inboxBacklog(db)).toEqual([
      { listId: 7, n: 2, oldestMs: 1_000 },
      { listId: 8, n: 1, oldestMs: 2_000 },
    ]);
    await settle(db, 7, 1);
    expect((await inboxBacklog(db))[0]).toEqual({ listId: 7, n: 1, oldestMs: 2_000 });
  });

  it('count nothing of a transaction rolled back', async () => {
    await appendInbox(db, [{ listId: 7, email: 'a@x.io' }]);
    await expect(
      db.transaction(async (manager) => {
        await appendInbox(db, [{ listId: 7, email: 'b@x.io' }, { listId: 8 }], manager);
        await settle(db, 7, 1, manager);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    await foldInboxCounts(db);
    expect(await kept(db)).toEqual([{ listId: 7, n: 1 }]);
  });

  it('start from the rows already waiting when the migration runs', async () => {
    await undoMigrationsThrough(dataSource, 'InboxCounts1797001100000');
    await appendInbox(db, [{ listId: 7, email: 'a@x.io' }, { listId: 7 }, { listId: 8, email: 'a@x.io' }]);
    await dataSource.runMigrations();
    expect(await kept(db)).toEqual([
      { listId: 7, n: 2 },
      { listId: 8, n: 1 },
    ]);
    await settle(db, 7, 1);
    expect(await kept(db)).toEqual(await counted(db));
  });
});

describe('inbox counts under concurrent ingest and settlement on postgres', () => {
  it('add up exactly when lists are appended to and settled in parallel transactions while the counts are folded', async () => {
    const { dataSource, database } = await createMigratedDataSource('postgres');
    const db = new Database(dataSource);
    try {
      const ingest = async (listId: number) => {
        for (let round = 0; round < 30; round++)
          await db.transaction((manager) =>
            appendInbox(
              db,
              Array.from({ length: 20 }, (_, i) => ({ listId: listId + (i % 2), email: `u${round}-${i}@x.io` })),
              manager,
            ),
          );
      };
      const worker = async (listId: number) => {
        for (let round = 0; round < 30; round++) await db.transaction((manager) => settle(db, listId, 15, manager));
      };
      let folding = true;
      const folder = (async () => {
        while (folding) await foldInboxCounts(db);
      })();
      await Promise.all([ingest(1), ingest(2), worker(1), worker(2), worker(3), ingest(1)]);
      folding = false;
      await folder;
      expect(await kept(db)).toEqual(await counted(db));
      expect(db.contention.deadlocks).toBe(0);
    } finally {
      await dataSource.destroy();
      await database.drop();
    }
  });
});
