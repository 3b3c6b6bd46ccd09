import BetterSqlite3 from 'better-sqlite3';
import { DataSource } from 'typeorm';
import { Database } from './database';
import { isStorageUnavailable, StorageUnavailableError } from './storage-errors';
import { Client } from 'pg';
import { createMigratedDataSource, createTestDatabase, TEST_POSTGRES_ADMIN_URL, TestDatabase } from './testing/test-database';

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

describe('a PostgreSQL database that refuses connections (a restart, a failover, ALLOW_CONNECTIONS false)', () => {
  it('is storage unavailable (503 and send again), not a fault of the request (500)', async () => {
    const database = await createTestDatabase('postgres');
    const name = new URL(database.url).pathname.slice(1);
    const admin = new Client({ connectionString: TEST_POSTGRES_ADMIN_URL });
    await admin.connect();
    try {
      await admin.query(`ALTER DATABASE "${name}" WITH ALLOW_CONNECTIONS false`);
      const client = new Client({ connectionString: database.url });
      const refused = await client.connect().then(
        () => undefined,
        (error: unknown) => error,
      );
      await client.end().catch(() => undefined);
      expect(refused).toBeInstanceOf(Error);
      expect(isStorageUnavailable(refused)).toBe(true);
    } finally {
      await admin.query(`ALTER DATABASE "${name}" WITH ALLOW_CONNECTIONS true`);
      await admin.end();
      await database.drop();
    }
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

// Issue 21 §1: a COMMIT (or any write) that storage refuses must leave no transaction open on the connection.
// Before the fix TypeORM's runner kept its transaction flags after a failed COMMIT/ROLLBACK, every later
// "transaction" became a SAVEPOINT inside one never committed, and answers after the fault were lies.
describe('Database when storage cannot commit (SQLite full: PRAGMA max_page_count)', () => {
  let dataSource: DataSource;
  let database: TestDatabase;
  let path: string;
  beforeAll(async () => {
    ({ dataSource, database } = await createMigratedDataSource('sqlite'));
    path = database.url.slice('sqlite:'.length);
    await dataSource.query(`CREATE TABLE notes (text TEXT NOT NULL)`);
  });
  afterAll(async () => {
    await dataSource.destroy();
    await database.drop();
  });

  const raw = () =>
    (dataSource.driver as unknown as { databaseConnection: { pragma(sql: string, o?: object): unknown; inTransaction: boolean } }).databaseConnection;
  /** What another connection (another process) sees: only what was committed. */
  const committedElsewhere = () => {
    const other = new BetterSqlite3(path, { readonly: true });
    try {
      return (other.prepare(`SELECT COUNT(*) AS n FROM notes`).get() as { n: number }).n;
    } finally {
      other.close();
    }
  };

  it('refuses every write while full (cannotWrite); once space returns every acknowledged write is visible to another connection', async () => {
    const db = new Database(dataSource);
    raw().pragma(`max_page_count = ${Number(raw().pragma('page_count', { simple: true })) + 2}`);
    const acknowledged: number[] = [];
    const refused: unknown[] = [];
    // Writes of both kinds: transactions with two statements, and single statements.
    for (let i = 0; i < 60; i++) {
      const write =
        i % 2 === 0
          ? db.transaction(async (manager) => {
              await db.query(`INSERT INTO notes VALUES (?)`, [`t${i}`.padEnd(3000, '.')], manager);
              await db.query(`INSERT INTO notes VALUES (?)`, [`u${i}`.padEnd(10, '.')], manager);
            })
          : db.statement(`INSERT INTO notes VALUES (?)`, [`s${i}`.padEnd(3000, '.')]);
      await write.then(
        () => acknowledged.push(i % 2 === 0 ? 2 : 1),
        (error: unknown) => refused.push(error),
      );
      await db.query(`SELECT 1`); // after the write's group, whatever its outcome
      expect(raw().inTransaction).toBe(false);
    }
    expect(refused.length).toBeGreaterThan(40);
    expect(refused.every((e) => isStorageUnavailable(e))).toBe(true);
    expect(db.cannotWrite()).toBe(true);
    await expect(db.probeWrite()).rejects.toThrow(/full/);
    expect(committedElsewhere()).toBe(acknowledged.reduce((a, b) => a + b, 0));

    raw().pragma('max_page_count = 1073741823');
    await db.probeWrite();
    // A write that fails by itself (NOT NULL) after the fault: with the runner's flags left set, its ROLLBACK
    // TO SAVEPOINT kept SQLite inside a transaction, and every later write was lost.
    await expect(db.transaction((manager) => db.query(`INSERT INTO notes VALUES (NULL)`, [], manager))).rejects.toThrow(/NOT NULL/);
    for (let i = 0; i < 10; i++) await db.transaction((manager) => db.query(`INSERT INTO notes VALUES ('after')`, [], manager));
    expect(db.cannotWrite()).toBe(false);
    expect(raw().inTransaction).toBe(false);
    expect(committedElsewhere()).toBe(acknowledged.reduce((a, b) => a + b, 0) + 10);
    expect(await dataSource.query(`SELECT COUNT(*) AS n FROM storage_probe`)).toEqual([{ n: 0 }]);
  });

  it('a COMMIT whose ROLLBACK fails too leaves the connection usable (flags reset, no transaction open)', async () => {
    const db = new Database(dataSource);
    const runner = dataSource.driver.createQueryRunner('master') as unknown as { isTransactionActive: boolean; transactionDepth: number };
    // The state a failed COMMIT left before the fix: the runner believes a transaction is open, SQLite has none.
    runner.isTransactionActive = true;
    runner.transactionDepth = 1;
    await expect(db.transaction((manager) => db.query(`INSERT INTO notes VALUES (NULL)`, [], manager))).rejects.toThrow(/NOT NULL/);
    await db.query(`SELECT 1`);
    expect(raw().inTransaction).toBe(false);
    const before = committedElsewhere();
    await db.transaction((manager) => db.query(`INSERT INTO notes VALUES ('twice')`, [], manager));
    expect(committedElsewhere()).toBe(before + 1);
  });
});

describe('Database when a PostgreSQL COMMIT fails (a deferred constraint trigger armed by the test)', () => {
  let dataSource: DataSource;
  let database: TestDatabase;
  beforeAll(async () => {
    ({ dataSource, database } = await createMigratedDataSource('postgres'));
    await dataSource.query(`CREATE TABLE notes (text text NOT NULL)`);
    await dataSource.query(`CREATE TABLE armed (on_commit boolean NOT NULL)`);
    await dataSource.query(`INSERT INTO armed VALUES (false)`);
    await dataSource.query(`CREATE FUNCTION fail_commit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF (SELECT on_commit FROM armed) THEN RAISE EXCEPTION 'commit refused by the test'; END IF; RETURN NULL; END $$`);
    await dataSource.query(
      `CREATE CONSTRAINT TRIGGER notes_commit AFTER INSERT ON notes DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fail_commit()`,
    );
  });
  afterAll(async () => {
    await dataSource.destroy();
    await database.drop();
  });

  it('answers StorageUnavailableError(commit), stores nothing, and the next transactions commit', async () => {
    const db = new Database(dataSource);
    await dataSource.query(`UPDATE armed SET on_commit = true`);
    const failing = db.transaction(async (manager) => {
      await db.query(`INSERT INTO notes VALUES ('refused')`, [], manager);
      return 'would be a 200';
    });
    await expect(failing).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(failing).rejects.toMatchObject({ phase: 'commit' });
    expect(db.cannotWrite()).toBe(true);
    await dataSource.query(`UPDATE armed SET on_commit = false`);
    for (let i = 0; i < 12; i++) await db.transaction((manager) => db.query(`INSERT INTO notes VALUES ('kept')`, [], manager));
    expect(db.cannotWrite()).toBe(false);
    expect(await dataSource.query(`SELECT text, COUNT(*)::int AS n FROM notes GROUP BY text`)).toEqual([{ text: 'kept', n: 12 }]);
  });
});

// Issue 25: group commit on SQLite. Transactions arriving together share one COMMIT; none resolves before it, and
// a poison one fails alone while the others commit.
describe('Database group commit on SQLite', () => {
  let dataSource: DataSource;
  let database: TestDatabase;
  beforeAll(async () => {
    ({ dataSource, database } = await createMigratedDataSource('sqlite'));
    await dataSource.query(`CREATE TABLE notes (text TEXT NOT NULL UNIQUE)`);
  });
  afterAll(async () => {
    await dataSource.destroy();
    await database.drop();
  });

  const committedElsewhere = () => {
    const other = new BetterSqlite3(database.url.slice('sqlite:'.length), { readonly: true });
    try {
      return (other.prepare(`SELECT text FROM notes ORDER BY text`).all() as { text: string }[]).map((r) => r.text);
    } finally {
      other.close();
    }
  };

  it('commits transactions that arrive together in one group, each visible to another connection when it resolves', async () => {
    const db = new Database(dataSource);
    const seenAtResolve: boolean[] = [];
    const writes = Array.from({ length: 50 }, (_, i) =>
      db
        .transaction(async (manager) => {
          await db.query(`INSERT INTO notes VALUES (?)`, [`g${String(i).padStart(2, '0')}`], manager);
          await db.query(`INSERT INTO notes VALUES (?)`, [`h${String(i).padStart(2, '0')}`], manager);
          return i;
        })
        .then((value) => {
          seenAtResolve.push(committedElsewhere().includes(`h${String(value).padStart(2, '0')}`));
          return value;
        }),
    );
    expect(await Promise.all(writes)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(seenAtResolve.every(Boolean)).toBe(true);
    expect(db.groupCommit.transactions).toBe(50);
    expect(db.groupCommit.groups).toBeLessThanOrEqual(3);
    expect(committedElsewhere()).toHaveLength(100);
  });

  it('fails a poison transaction alone (its partial writes undone) while the rest of its group commits', async () => {
    const db = new Database(dataSource);
    await dataSource.query(`DELETE FROM notes`);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 9 }, (_, i) =>
        db.transaction(async (manager) => {
          await db.query(`INSERT INTO notes VALUES (?)`, [`p${i}`], manager);
          // The fifth writes a duplicate after its first row: the whole of it must be undone.
          if (i === 4) await db.query(`INSERT INTO notes VALUES (?)`, ['p0'], manager);
        }),
      ),
    );
    expect(outcomes.map((o) => o.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'fulfilled',
    ]);
    expect(committedElsewhere()).toEqual(['p0', 'p1', 'p2', 'p3', 'p5', 'p6', 'p7', 'p8']);
    expect(db.groupCommit.groups).toBeLessThanOrEqual(2);
  });
});
