import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DataSource, DataSourceOptions } from 'typeorm';
import { ENTITIES } from './entities';
import { POSTGRES_MIGRATIONS } from './migrations/postgres';
import { SQLITE_MIGRATIONS } from './migrations/sqlite';

export type DatabaseDriver = 'sqlite' | 'postgres';

/** Both drivers, for `describe.each(DRIVERS)`: every persistence test runs on SQLite and PostgreSQL. */
export const DRIVERS: DatabaseDriver[] = ['sqlite', 'postgres'];

/** Which driver a DATABASE_URL names: `sqlite:<path>` (`sqlite::memory:` for memory) or `postgres://…`. */
export function driverOf(databaseUrl: string): DatabaseDriver {
  if (databaseUrl.startsWith('sqlite:')) return 'sqlite';
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) return 'postgres';
  throw new Error('DATABASE_URL must be sqlite:<path> or postgres://…');
}

/**
 * TypeORM options for a DATABASE_URL. `synchronize` is always false: the schema only ever changes
 * through the migrations of the driver (`npm run db:migrate`).
 */
export function dataSourceOptions(databaseUrl: string): DataSourceOptions {
  if (driverOf(databaseUrl) === 'sqlite') {
    const path = databaseUrl.slice('sqlite:'.length);
    const database = path === ':memory:' ? path : resolve(path);
    if (database !== ':memory:') mkdirSync(dirname(database), { recursive: true });
    return {
      type: 'better-sqlite3',
      database,
      entities: ENTITIES,
      migrations: SQLITE_MIGRATIONS,
      synchronize: false,
      migrationsRun: false,
      migrationsTransactionMode: 'each',
      // WAL lets readers (a second process) run beside the writer; FULL makes every commit survive a power
      // loss or OS crash, which "durable before acknowledged" needs (NORMAL can lose the last commits).
      prepareDatabase: (db: { pragma(sql: string): unknown }) => {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = FULL');
        db.pragma('busy_timeout = 5000');
        db.pragma('foreign_keys = ON');
      },
    };
  }
  return {
    type: 'postgres',
    url: databaseUrl,
    entities: ENTITIES,
    migrations: POSTGRES_MIGRATIONS,
    synchronize: false,
    migrationsRun: false,
    // Each migration in its own transaction, and one that builds an index on a big table in none (CREATE INDEX
    // CONCURRENTLY cannot run in one): see migrations/postgres/online-index.ts.
    migrationsTransactionMode: 'each',
    extra: { max: 10 },
  };
}

export function createDataSource(databaseUrl: string): DataSource {
  return new DataSource(dataSourceOptions(databaseUrl));
}
