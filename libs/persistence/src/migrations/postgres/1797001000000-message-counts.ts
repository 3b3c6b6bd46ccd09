import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `message_counts`: membership messages remembered per account and the repeats of them, kept by triggers on
 * `received_messages`, so `/v1/stats` reads a few rows instead of counting every message id (5 million of them took
 * 170 – 440 ms a call in `npm run bench:size`). Each statement on `received_messages` appends its net change per
 * account to `message_count_changes` (statement triggers over its transition tables: ingest never waits on a shared
 * counter row; an `INSERT … ON CONFLICT DO UPDATE` fires both the insert trigger, with the rows it inserted, and the
 * update trigger, with the rows it updated); the worker's sweeper folds them in. Creating the triggers locks
 * `received_messages` against writes until this migration commits, so the counts taken here and the changes counted
 * after them add up exactly.
 */
export class MessageCounts1797001000000 implements MigrationInterface {
  name = 'MessageCounts1797001000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE TABLE "message_counts" ("account_id" bigint NOT NULL, "accepted" bigint NOT NULL, "duplicates" bigint NOT NULL, CONSTRAINT "PK_db0a0a87816e7484f2c21133ba9" PRIMARY KEY ("account_id"))',
    );
    await queryRunner.query(
      'CREATE TABLE "message_count_changes" ("id" SERIAL NOT NULL, "account_id" bigint NOT NULL, "accepted" bigint NOT NULL, "duplicates" bigint NOT NULL, CONSTRAINT "PK_5b7c47b46a3dceb3f25b0c70a3e" PRIMARY KEY ("id"))',
    );
    await queryRunner.query('ALTER SEQUENCE "message_count_changes_id_seq" CYCLE');
    await queryRunner.query(`CREATE FUNCTION message_counts_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO message_count_changes (account_id, accepted, duplicates)
      SELECT account_id, COUNT(*), SUM(duplicate_count) FROM new_rows GROUP BY account_id;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO message_count_changes (account_id, accepted, duplicates)
      SELECT account_id, -COUNT(*), -SUM(duplicate_count) FROM old_rows GROUP BY account_id;
  ELSE
    INSERT INTO message_count_changes (account_id, accepted, duplicates)
      SELECT account_id, 0, SUM(d) FROM (SELECT account_id, duplicate_count AS d FROM new_rows UNION ALL SELECT account_id, -duplicate_count FROM old_rows) x
      GROUP BY account_id HAVING SUM(d) <> 0;
  END IF;
  RETURN NULL;
END $$`);
    await queryRunner.query(
      'CREATE TRIGGER message_counts_insert AFTER INSERT ON received_messages REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION message_counts_changed()',
    );
    await queryRunner.query(
      'CREATE TRIGGER message_counts_update AFTER UPDATE ON received_messages REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION message_counts_changed()',
    );
    await queryRunner.query(
      'CREATE TRIGGER message_counts_delete AFTER DELETE ON received_messages REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION message_counts_changed()',
    );
    await queryRunner.query(
      'INSERT INTO message_counts (account_id, accepted, duplicates) SELECT account_id, COUNT(*), COALESCE(SUM(duplicate_count), 0) FROM received_messages GROUP BY account_id',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TRIGGER message_counts_delete ON received_messages');
    await queryRunner.query('DROP TRIGGER message_counts_update ON received_messages');
    await queryRunner.query('DROP TRIGGER message_counts_insert ON received_messages');
    await queryRunner.query('DROP FUNCTION message_counts_changed()');
    await queryRunner.query('DROP TABLE "message_count_changes"');
    await queryRunner.query('DROP TABLE "message_counts"');
  }
}
