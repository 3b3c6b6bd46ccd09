import 'reflect-metadata';
import { validateEnvironment } from '@audience-bridge/config';
import { createDataSource, driverOf } from '../data-source';

/** `npm run db:migrate`: applies the pending migrations of DATABASE_URL's driver, and says which. */
async function main(): Promise<void> {
  const env = validateEnvironment(process.env);
  const dataSource = createDataSource(env.DATABASE_URL);
  await dataSource.initialize();
  try {
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    const driver = driverOf(env.DATABASE_URL);
    process.stdout.write(
      applied.length === 0 ? `db:migrate (${driver}): schema up to date\n` : `db:migrate (${driver}): applied ${applied.map((m) => m.name).join(', ')}\n`,
    );
  } finally {
    await dataSource.destroy();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`db:migrate failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
