import { MigrationInterface, QueryRunner } from 'typeorm';

/** A quarter hour, in ms: the width of `call_peaks`' buckets (the same as `call_buckets`'). */
const BUCKET_MS = 900_000;
/** The fill counts the calls of the last two days: the busiest second is read for the last 24 h at most. */
const FILL_MS = 2 * 86_400_000;

/**
 * `call_seconds` and `call_peaks`: Iterable calls (not in dry run) per account and calendar second, and each
 * account's busiest second per quarter hour, so `/v1/summary`'s busiest second reads a few rows per quarter hour
 * instead of grouping a day of `delivery_calls` by second. A statement trigger on inserts into `delivery_calls`
 * appends what each statement adds to `call_second_changes`; the worker's sweeper folds them into `call_seconds` and
 * raises `call_peaks` where a folded second passed its quarter hour's peak (a second's count only grows). Creating the
 * trigger locks `delivery_calls` against writes until this migration commits (only the worker writes it), so the fill
 * from the last two days and the calls counted after it add up exactly.
 */
export class CallSeconds1797002100000 implements MigrationInterface {
  name = 'CallSeconds1797002100000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE TABLE "call_seconds" ("second_ms" bigint NOT NULL, "account_id" bigint NOT NULL, "calls" bigint NOT NULL, ' +
        'CONSTRAINT "PK_ae4a40b274c52c47bc40dc1d7f6" PRIMARY KEY ("second_ms", "account_id"))',
    );
    await queryRunner.query(
      'CREATE TABLE "call_second_changes" ("id" SERIAL NOT NULL, "second_ms" bigint NOT NULL, "account_id" bigint NOT NULL, "calls" bigint NOT NULL, ' +
        'CONSTRAINT "PK_7c03ae7d61c89007ede238759e6" PRIMARY KEY ("id"))',
    );
    await queryRunner.query(
      'CREATE TABLE "call_peaks" ("bucket_ms" bigint NOT NULL, "account_id" bigint NOT NULL, "second_ms" bigint NOT NULL, "calls" bigint NOT NULL, ' +
        'CONSTRAINT "PK_4e75923d39d7624153ffccd6b3f" PRIMARY KEY ("bucket_ms", "account_id"))',
    );
    await queryRunner.query('ALTER SEQUENCE "call_second_changes_id_seq" CYCLE');
    const perSecond = (rows: string, where = '') =>
      `SELECT created_at_ms - created_at_ms % 1000, account_id, COUNT(*) FROM ${rows} WHERE NOT dry_run${where} GROUP BY 1, 2`;
    await queryRunner.query(`CREATE FUNCTION call_seconds_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO call_second_changes (second_ms, account_id, calls) ${perSecond('new_rows')};
  RETURN NULL;
END $$`);
    await queryRunner.query(
      'CREATE TRIGGER call_seconds_insert AFTER INSERT ON delivery_calls REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION call_seconds_added()',
    );
    const since = Math.floor((Date.now() - FILL_MS) / BUCKET_MS) * BUCKET_MS;
    await queryRunner.query(`INSERT INTO call_seconds (second_ms, account_id, calls) ${perSecond('delivery_calls', ` AND created_at_ms >= ${since}`)}`);
    const bucket = `second_ms - second_ms % ${BUCKET_MS}`;
    await queryRunner.query(
      `INSERT INTO call_peaks (bucket_ms, account_id, second_ms, calls) SELECT DISTINCT ON (${bucket}, account_id) ${bucket}, account_id, second_ms, calls ` +
        `FROM call_seconds ORDER BY ${bucket}, account_id, calls DESC, second_ms`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TRIGGER call_seconds_insert ON delivery_calls');
    await queryRunner.query('DROP FUNCTION call_seconds_added()');
    await queryRunner.query('DROP TABLE "call_peaks"');
    await queryRunner.query('DROP TABLE "call_second_changes"');
    await queryRunner.query('DROP TABLE "call_seconds"');
  }
}
