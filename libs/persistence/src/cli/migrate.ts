import 'reflect-metadata';
import { bootFailureMessage, validateDatabaseEnvironment } from '@audience-bridge/config';
import { createDataSource, driverOf } from '../data-source';

/**
 * `npm run db:migrate`: applies the pending migrations of DATABASE_URL's driver, and says which. A release
 * step: it needs DATABASE_URL (and NODE_ENV), none of the apps' tokens or keys.
 */
async function main(): Promise<void> {
  const env = validateDatabaseEnvironment(process.env);
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
  process.stderr.write(`db:migrate failed: ${bootFailureMessage(error)}\n`);
  process.exit(1);
});
