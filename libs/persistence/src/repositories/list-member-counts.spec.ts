import { DataSource } from 'typeorm';
import { Database } from '../database';
import { createMigratedDataSource, DRIVERS, TestDatabase, undoMigrationsThrough } from '../testing/test-database';
import { foldListMemberCounts, listMemberCounts } from './list-member-counts';

/** `list|state=n` of every list and state, counted from the rows. */
async function countedByList(db: Database): Promise<string[]> {
  const rows = await db.query<{ list_id: number | string; state: string; n: number | string }>(
    `SELECT list_id, state, COUNT(*) AS n FROM list_members GROUP BY list_id, state`,
  );
  return rows.map((r) => `${Number(r.list_id)}|${r.state}=${Number(r.n)}`).sort();
}

/** The same, from the counts the database keeps. */
async function keptByList(db: Database): Promise<string[]> {
  return (await listMemberCounts(db)).map((r) => `${r.listId}|${r.state}=${r.n}`).sort();
}

describe.each(DRIVERS)('list member counts kept by the database on %s', (driver) => {
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

  const counted = () => countedByList(db);
  const kept = () => keptByList(db);
  const member = (list: number, key: string, state: string) => [list, key, key, null, state, null, null, 1, false];
  const insert = (rows: unknown[][], tail = '') =>
    db.query(
      `INSERT INTO list_members (list_id, member_key, email, user_id, state, reason, recheck_at_ms, updated_at_ms, ever_subscribed)
       VALUES ${rows.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')} ${tail}`,
      rows.flat(),
    );

  it('equal COUNT(*) after inserts, upserts, updates that change a state and ones that do not, and deletes, folded or not', async () => {
    await insert([member(1, 'a', 'subscribed'), member(1, 'b', 'subscribed'), member(1, 'c', 'unknown'), member(2, 'a', 'failed')]);
    expect(await kept()).toEqual(await counted());
    expect(await kept()).toEqual(['1|subscribed=2', '1|unknown=1', '2|failed=1']);
    await foldListMemberCounts(db);
    expect(await kept()).toEqual(await counted());

    // One statement that inserts a member and updates two (one to a new state, one to the same).
    await insert(
      [member(1, 'c', 'subscribed'), member(1, 'd', 'unknown'), member(2, 'a', 'failed')],
      `ON CONFLICT (list_id, member_key) DO UPDATE SET state = excluded.state`,
    );
    expect(await kept()).toEqual(await counted());
    expect(await kept()).toEqual(['1|subscribed=3', '1|unknown=1', '2|failed=1']);

    await db.query(`UPDATE list_members SET state = 'unknown', recheck_at_ms = 5 WHERE list_id = 1 AND state = 'subscribed'`);
    await db.query(`UPDATE list_members SET updated_at_ms = 9 WHERE list_id = 2`);
    expect(await kept()).toEqual(await counted());
    await foldListMemberCounts(db);
    await db.query(`DELETE FROM list_members WHERE member_key IN ('a', 'd')`);
    expect(await kept()).toEqual(await counted());
    expect(await kept()).toEqual(['1|unknown=2']);
    await foldListMemberCounts(db);
    expect(await kept()).toEqual(['1|unknown=2']);
    // Nothing left to fold: folding again changes nothing.
    expect(await foldListMemberCounts(db)).toBe(0);
    expect(await kept()).toEqual(await counted());
  });

  it('count nothing of a transaction rolled back', async () => {
    await insert([member(1, 'a', 'subscribed')]);
    await expect(
      db.transaction(async (manager) => {
        await db.query(`UPDATE list_members SET state = 'failed'`, [], manager);
        await db.query(
          `INSERT INTO list_members (list_id, member_key, email, user_id, state, reason, recheck_at_ms, updated_at_ms, ever_subscribed)
           VALUES (3, 'x', 'x', NULL, 'subscribed', NULL, NULL, 1, ?)`,
          [false],
          manager,
        );
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    await foldListMemberCounts(db);
    expect(await kept()).toEqual(['1|subscribed=1']);
  });

  it('start from the members already there when the migration runs', async () => {
    await undoMigrationsThrough(dataSource, 'ListMemberCounts1797000700000');
    await insert([member(7, 'a', 'subscribed'), member(7, 'b', 'failed'), member(8, 'a', 'subscribed')]);
    await dataSource.runMigrations();
    expect(await kept()).toEqual(['7|failed=1', '7|subscribed=1', '8|subscribed=1']);
    await db.query(`UPDATE list_members SET state = 'unsubscribed' WHERE list_id = 7`);
    expect(await kept()).toEqual(await counted());
  });
});

describe('list member counts under concurrent writers on postgres', () => {
  it('add up exactly when lists are written in parallel transactions while the counts are folded', async () => {
    const { dataSource, database } = await createMigratedDataSource('postgres');
    const db = new Database(dataSource);
    try {
      const writer = async (list: number) => {
        for (let round = 0; round < 20; round++) {
          await db.transaction(async (manager) => {
            await db.query(
              `INSERT INTO list_members (list_id, member_key, email, user_id, state, reason, recheck_at_ms, updated_at_ms, ever_subscribed)
               SELECT ?, 'm' || g, 'm' || g, NULL, CASE WHEN g % 3 = ? THEN 'subscribed' ELSE 'unknown' END, NULL, NULL, 1, false
               FROM generate_series(1, 50) g
               ON CONFLICT (list_id, member_key) DO UPDATE SET state = excluded.state`,
              [list, round % 3],
              manager,
            );
            if (round % 4 === 3) await db.query(`DELETE FROM list_members WHERE list_id = ? AND member_key LIKE ?`, [list, `m${round % 10}%`], manager);
          });
        }
      };
      let folding = true;
      const folder = (async () => {
        while (folding) await foldListMemberCounts(db);
      })();
      await Promise.all([writer(1), writer(2), writer(3), writer(1)]);
      folding = false;
      await folder;
      expect(await keptByList(db)).toEqual(await countedByList(db));
      expect(db.contention.deadlocks).toBe(0);
    } finally {
      await dataSource.destroy();
      await database.drop();
    }
  });
});
