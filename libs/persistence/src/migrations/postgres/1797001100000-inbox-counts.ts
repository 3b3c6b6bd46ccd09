import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `inbox_counts`: inbox rows waiting per list, kept by triggers on `sync_inbox`, so the console's connections,
 * `/v1/stats` and every `/metrics` scrape read a few rows instead of counting the inbox (5 million waiting rows, after
 * an outage, took 2.4 s a count). Each statement on `sync_inbox` appends its net change per list to
 * `inbox_count_changes` (statement triggers over its transition tables: ingest never waits on a shared counter row);
 * the worker's sweeper folds them in. Nothing updates an inbox row's list, so inserts and deletes are all there is.
 * Creating the triggers locks `sync_inbox` against writes until this migration commits, so the counts taken here and
 * the changes counted after them add up exactly.
 */
export class InboxCounts1797001100000 implements MigrationInterface {
  name = 'InboxCounts1797001100000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE TABLE "inbox_counts" ("list_id" bigint NOT NULL, "n" bigint NOT NULL, CONSTRAINT "PK_15637e47bc96a422f9b8783d418" PRIMARY KEY ("list_id"))',
    );
    await queryRunner.query(
      'CREATE TABLE "inbox_count_changes" ("id" SERIAL NOT NULL, "list_id" bigint NOT NULL, "n" bigint NOT NULL, CONSTRAINT "PK_76634096e0cf8f7d04a6bb2e37c" PRIMARY KEY ("id"))',
    );
    await queryRunner.query('ALTER SEQUENCE "inbox_count_changes_id_seq" CYCLE');
    await queryRunner.query(`CREATE FUNCTION inbox_counts_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO inbox_count_changes (list_id, n) SELECT list_id, COUNT(*) FROM new_rows GROUP BY list_id;
  ELSE
    INSERT INTO inbox_count_changes (list_id, n) SELECT list_id, -COUNT(*) FROM old_rows GROUP BY list_id;
  END IF;
  RETURN NULL;
END $$`);
    await queryRunner.query(
      'CREATE TRIGGER inbox_counts_insert AFTER INSERT ON sync_inbox REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION inbox_counts_changed()',
    );
    await queryRunner.query(
      'CREATE TRIGGER inbox_counts_delete AFTER DELETE ON sync_inbox REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION inbox_counts_changed()',
    );
    await queryRunner.query('INSERT INTO inbox_counts (list_id, n) SELECT list_id, COUNT(*) FROM sync_inbox GROUP BY list_id');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TRIGGER inbox_counts_delete ON sync_inbox');
    await queryRunner.query('DROP TRIGGER inbox_counts_insert ON sync_inbox');
    await queryRunner.query('DROP FUNCTION inbox_counts_changed()');
    await queryRunner.query('DROP TABLE "inbox_count_changes"');
    await queryRunner.query('DROP TABLE "inbox_counts"');
  }
}
