import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { createDataSource, DatabaseDriver } from '../data-source';

/** The PostgreSQL server the tests use (`TEST_POSTGRES_URL`, default the local one). It must accept CREATE DATABASE. */
export const TEST_POSTGRES_ADMIN_URL = process.env['TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  driver: DatabaseDriver;
  url: string;
  /** Drops the database (PostgreSQL) or deletes its folder (SQLite). */
  drop(): Promise<void>;
}

export interface TestDatabaseOptions {
  /** SQLite: the folder the file goes in (the caller's: a small disk, say), instead of a new temp folder. */
  sqliteDir?: string;
}

/** A new, empty database of the driver: a fresh PostgreSQL database or a SQLite file in a temp folder. */
export async function createTestDatabase(driver: DatabaseDriver, options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  if (driver === 'sqlite') {
    if (options.sqliteDir) {
      const file = join(options.sqliteDir, `test-${randomBytes(4).toString('hex')}.sqlite`);
      return { driver, url: `sqlite:${file}`, drop: async () => ['', '-wal', '-shm'].forEach((x) => rmSync(`${file}${x}`, { force: true })) };
    }
    const dir = mkdtempSync(join(tmpdir(), 'ab-sqlite-'));
    return { driver, url: `sqlite:${join(dir, 'test.sqlite')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `ab_test_${randomBytes(6).toString('hex')}`;
  const admin = new DataSource({ type: 'postgres', url: TEST_POSTGRES_ADMIN_URL });
  await admin.initialize();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.destroy();
  const url = new URL(TEST_POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    driver,
    url: url.toString(),
    drop: async () => {
      const again = new DataSource({ type: 'postgres', url: TEST_POSTGRES_ADMIN_URL });
      await again.initialize();
      await again.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await again.destroy();
    },
  };
}

/** A migrated data source on a new database of the driver, with the database it lives in. */
export async function createMigratedDataSource(
  driver: DatabaseDriver,
  options: TestDatabaseOptions = {},
): Promise<{ dataSource: DataSource; database: TestDatabase }> {
  const database = await createTestDatabase(driver, options);
  const dataSource = createDataSource(database.url);
  await dataSource.initialize();
  await dataSource.runMigrations();
  return { dataSource, database };
}

export { DRIVERS } from '../data-source';

/** Undoes migrations, newest first, until `name` is undone too (a test of what a migration does with rows already there). */
export async function undoMigrationsThrough(dataSource: DataSource, name: string): Promise<void> {
  for (;;) {
    const applied: { name: string }[] = await dataSource.query(`SELECT name FROM migrations`);
    if (!applied.some((m) => m.name === name)) return;
    await dataSource.undoLastMigration();
  }
}
