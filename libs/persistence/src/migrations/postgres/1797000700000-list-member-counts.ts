import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `list_member_counts`: members per list and state, kept by triggers on `list_members`, so reads of the counts
 * (`/v1/stats`, `/v1/connections`) read a few rows instead of counting every member. Each statement on
 * `list_members` appends its net change per list and state to `list_member_count_changes` (statement triggers over
 * its transition tables: no shared counter row that concurrent writers would wait on); the worker's sweeper folds
 * the changes into `list_member_counts`. Creating the triggers locks `list_members` against writes until this
 * migration commits, so the counts taken here and the changes counted after them add up exactly.
 *
 * Also the indexes a user lookup by customer id needs at size (memberships by userId, and the few memberships and
 * verdicts keyed without an mpid): without them it read every membership.
 */
export class ListMemberCounts1797000700000 implements MigrationInterface {
  name = 'ListMemberCounts1797000700000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('CREATE INDEX "memberships_by_user_id" ON "memberships"  ("user_id") ');
    await queryRunner.query('CREATE INDEX "memberships_without_mpid" ON "memberships"  ("user_key") WHERE mpid IS NULL');
    await queryRunner.query('CREATE INDEX "delivery_verdicts_without_mpid" ON "delivery_verdicts"  ("user_key") WHERE mpid IS NULL');
    await queryRunner.query(
      'CREATE TABLE "list_member_counts" ("list_id" bigint NOT NULL, "state" character varying(16) NOT NULL, "n" bigint NOT NULL, CONSTRAINT "PK_f0c687cacc893bdb55218634720" PRIMARY KEY ("list_id", "state"))',
    );
    await queryRunner.query(
      'CREATE TABLE "list_member_count_changes" ("id" SERIAL NOT NULL, "list_id" bigint NOT NULL, "state" character varying(16) NOT NULL, "n" bigint NOT NULL, CONSTRAINT "PK_f7dc9d2f68580ad9f8aed2e647d" PRIMARY KEY ("id"))',
    );
    await queryRunner.query('ALTER SEQUENCE "list_member_count_changes_id_seq" CYCLE');
    await queryRunner.query(`CREATE FUNCTION list_member_counts_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO list_member_count_changes (list_id, state, n) SELECT list_id, state, COUNT(*) FROM new_rows GROUP BY list_id, state;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO list_member_count_changes (list_id, state, n) SELECT list_id, state, -COUNT(*) FROM old_rows GROUP BY list_id, state;
  ELSE
    INSERT INTO list_member_count_changes (list_id, state, n)
      SELECT list_id, state, SUM(d) FROM (SELECT list_id, state, 1 AS d FROM new_rows UNION ALL SELECT list_id, state, -1 FROM old_rows) x
      GROUP BY list_id, state HAVING SUM(d) <> 0;
  END IF;
  RETURN NULL;
END $$`);
    await queryRunner.query(
      'CREATE TRIGGER list_member_counts_insert AFTER INSERT ON list_members REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION list_member_counts_changed()',
    );
    await queryRunner.query(
      'CREATE TRIGGER list_member_counts_update AFTER UPDATE ON list_members REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION list_member_counts_changed()',
    );
    await queryRunner.query(
      'CREATE TRIGGER list_member_counts_delete AFTER DELETE ON list_members REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION list_member_counts_changed()',
    );
    await queryRunner.query('INSERT INTO list_member_counts (list_id, state, n) SELECT list_id, state, COUNT(*) FROM list_members GROUP BY list_id, state');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX "public"."delivery_verdicts_without_mpid"');
    await queryRunner.query('DROP INDEX "public"."memberships_without_mpid"');
    await queryRunner.query('DROP INDEX "public"."memberships_by_user_id"');
    await queryRunner.query('DROP TRIGGER list_member_counts_delete ON list_members');
    await queryRunner.query('DROP TRIGGER list_member_counts_update ON list_members');
    await queryRunner.query('DROP TRIGGER list_member_counts_insert ON list_members');
    await queryRunner.query('DROP FUNCTION list_member_counts_changed()');
    await queryRunner.query('DROP TABLE "list_member_count_changes"');
    await queryRunner.query('DROP TABLE "list_member_counts"');
  }
}
