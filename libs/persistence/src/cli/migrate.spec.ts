import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { createDataSource } from '../data-source';
import { POSTGRES_MIGRATIONS } from '../migrations/postgres';
import { SQLITE_MIGRATIONS } from '../migrations/sqlite';
import { createTestDatabase, DRIVERS, TestDatabase } from '../testing/test-database';

/** The built CLI, as `npm run db:migrate` runs it (`nx run persistence:build`, which `npm test` runs first). */
const CLI = join(__dirname, '../../dist/cli/migrate.js');

function runMigrate(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npx nx run persistence:build\` first (npm test does)`);
  return new Promise((resolve) => {
    // Only what is given: no token, no key, nothing inherited but PATH.
    execFile(process.execPath, [CLI], { cwd: tmpdir(), env: { PATH: process.env['PATH'] ?? '', ...env }, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe.each(DRIVERS)('npm run db:migrate (%s)', (driver) => {
  let database: TestDatabase;
  beforeEach(async () => {
    database = await createTestDatabase(driver);
  });
  afterEach(async () => {
    await database.drop();
  });

  it('migrates in production with only DATABASE_URL set (none of the API tokens or keys)', async () => {
    const first = await runMigrate({ NODE_ENV: 'production', DATABASE_URL: database.url });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(new RegExp(`^db:migrate \\(${driver}\\): applied `));

    const dataSource: DataSource = createDataSource(database.url);
    await dataSource.initialize();
    try {
      const applied = await dataSource.query(`SELECT name FROM migrations`);
      expect(applied).toHaveLength((driver === 'postgres' ? POSTGRES_MIGRATIONS : SQLITE_MIGRATIONS).length);
    } finally {
      await dataSource.destroy();
    }

    const again = await runMigrate({ NODE_ENV: 'production', DATABASE_URL: database.url });
    expect(again).toEqual({ code: 0, stdout: `db:migrate (${driver}): schema up to date\n`, stderr: '' });
  });
});

describe('npm run db:migrate refusing its configuration', () => {
  it('names DATABASE_URL and its rule, with the password as ***', async () => {
    const refused = await runMigrate({ NODE_ENV: 'production', DATABASE_URL: 'mysql://app:hunter2-db@db.internal/ab' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      'db:migrate failed: Invalid configuration: DATABASE_URL="mysql://app:***@db.internal/ab": DATABASE_URL must be sqlite:<path> or postgres://…\n',
    );
    expect(refused.stdout + refused.stderr).not.toContain('hunter2');
  });
});
