import { QueryRunner } from 'typeorm';

/**
 * Index changes on a table in use, for a migration that runs with `transaction = false` (PostgreSQL cannot build
 * CONCURRENTLY in a transaction). A plain CREATE INDEX holds writes to its table for the whole build (seconds at
 * 10 million rows) and queues behind any open writer, every later writer queued behind it; CONCURRENTLY lets writes
 * go on. A build stopped half way (a killed `db:migrate`) leaves an invalid index of that name: it is dropped before
 * building again, so running the migration again finishes it.
 *
 * TypeORM undoes a migration in a transaction whatever the migration says: there (a `down`, a rollback run by
 * hand) the plain statements are used, which hold the table while they run.
 */
export async function createIndexOnline(queryRunner: QueryRunner, name: string, on: string): Promise<void> {
  await dropIndexOnline(queryRunner, name);
  await queryRunner.query(`CREATE INDEX${concurrently(queryRunner)} "${name}" ON ${on}`);
}

export async function dropIndexOnline(queryRunner: QueryRunner, name: string): Promise<void> {
  await queryRunner.query(`DROP INDEX${concurrently(queryRunner)} IF EXISTS "public"."${name}"`);
}

function concurrently(queryRunner: QueryRunner): string {
  return queryRunner.isTransactionActive ? '' : ' CONCURRENTLY';
}
