import { DataSource } from 'typeorm';
import { Database } from './database';
import { createMigratedDataSource, TestDatabase } from './testing/test-database';

describe('Database.transaction on PostgreSQL', () => {
  let dataSource: DataSource;
  let database: TestDatabase;
  beforeAll(async () => {
    ({ dataSource, database } = await createMigratedDataSource('postgres'));
    await dataSource.query(`CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL)`);
    await dataSource.query(`INSERT INTO counters VALUES (1, 0), (2, 0)`);
  });
  afterAll(async () => {
    await dataSource.destroy();
    await database.drop();
  });

  it('runs a deadlock victim again, so both transactions commit', async () => {
    const db = new Database(dataSource);
    let arrived = 0;
    let release!: () => void;
    const bothHoldOneRow = new Promise<void>((resolve) => (release = resolve));
    let runs = 0;
    const lockInOrder = (first: number, second: number) =>
      db.transaction(async (manager) => {
        runs++;
        await manager.query(`UPDATE counters SET n = n + 1 WHERE id = $1`, [first]);
        if (++arrived === 2) release();
        await bothHoldOneRow;
        await manager.query(`UPDATE counters SET n = n + 1 WHERE id = $1`, [second]);
      });
    await Promise.all([lockInOrder(1, 2), lockInOrder(2, 1)]);
    expect(runs).toBe(3);
    expect(await dataSource.query(`SELECT id, n FROM counters ORDER BY id`)).toEqual([
      { id: 1, n: 2 },
      { id: 2, n: 2 },
    ]);
  });
});

describe('Database on SQLite', () => {
  let dataSource: DataSource;
  let database: TestDatabase;
  beforeAll(async () => {
    ({ dataSource, database } = await createMigratedDataSource('sqlite'));
    await dataSource.query(`CREATE TABLE notes (text varchar(20) NOT NULL)`);
  });
  afterAll(async () => {
    await dataSource.destroy();
    await database.drop();
  });

  it('never runs a statement inside another caller’s open transaction (one connection)', async () => {
    const db = new Database(dataSource);
    let release!: () => void;
    const open = new Promise<void>((resolve) => (release = resolve));
    const failing = db.transaction(async (manager) => {
      await manager.query(`INSERT INTO notes VALUES ('rolled back')`);
      await open;
      throw new Error('this transaction fails');
    });
    await new Promise((r) => setTimeout(r, 20));
    const outside = db.query(`INSERT INTO notes VALUES ('kept')`);
    release();
    await expect(failing).rejects.toThrow('this transaction fails');
    await outside;
    expect(await dataSource.query(`SELECT text FROM notes`)).toEqual([{ text: 'kept' }]);
  });
});
