import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDataSource } from '../data-source';

/**
 * `npm run db:generate -- <kebab-name>`: writes one migration per driver under src/migrations/<driver>/,
 * holding the SQL that brings a database migrated to the latest migration in line with the entities.
 * The scratch databases: an in-memory SQLite and GENERATE_POSTGRES_URL (default: a `ab_migrations`
 * database on the local PostgreSQL, which must exist and be empty or migrated). Add the new classes to
 * each driver's index.ts.
 */
async function main(): Promise<void> {
  const name = process.argv[2];
  if (!name || !/^[a-z0-9-]+$/.test(name)) throw new Error('usage: db:generate -- <kebab-case-name>');
  const timestamp = Date.now();
  const className = name.replace(/(^|-)(\w)/g, (_m, _d, c: string) => c.toUpperCase()) + timestamp;
  const targets = [
    ['sqlite', 'sqlite::memory:'],
    ['postgres', process.env['GENERATE_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/ab_migrations'],
  ] as const;
  for (const [driver, url] of targets) {
    const dataSource = createDataSource(url);
    await dataSource.initialize();
    await dataSource.runMigrations();
    const sql = await dataSource.driver.createSchemaBuilder().log();
    await dataSource.destroy();
    if (sql.upQueries.length === 0) {
      process.stdout.write(`${driver}: entities and migrations agree, nothing to generate\n`);
      continue;
    }
    const lines = (queries: { query: string }[]) => queries.map((q) => `    await queryRunner.query(${JSON.stringify(q.query)});`).join('\n');
    const file = join(__dirname, '../../src/migrations', driver, `${timestamp}-${name}.ts`);
    writeFileSync(
      file,
      `import { MigrationInterface, QueryRunner } from 'typeorm';

export class ${className} implements MigrationInterface {
  name = '${className}';

  async up(queryRunner: QueryRunner): Promise<void> {
${lines(sql.upQueries)}
  }

  async down(queryRunner: QueryRunner): Promise<void> {
${lines([...sql.downQueries].reverse())}
  }
}
`,
    );
    process.stdout.write(`${driver}: wrote ${file}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
