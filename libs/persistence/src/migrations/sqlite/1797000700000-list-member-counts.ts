import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `list_member_counts`: members per list and state, kept by triggers on `list_members` (one writer at a time on
 * SQLite: each row's change updates its count directly), so reads of the counts read a few rows instead of counting
 * every member. `list_member_count_changes` exists for the same schema as PostgreSQL and stays empty here.
 *
 * Also the indexes a user lookup by customer id needs at size (memberships by userId, and the few memberships and
 * verdicts keyed without an mpid): without them it read every membership.
 */
export class ListMemberCounts1797000700000 implements MigrationInterface {
  name = 'ListMemberCounts1797000700000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('CREATE INDEX "memberships_by_user_id" ON "memberships" ("user_id") ');
    await queryRunner.query('CREATE INDEX "memberships_without_mpid" ON "memberships" ("user_key") WHERE mpid IS NULL');
    await queryRunner.query('CREATE INDEX "delivery_verdicts_without_mpid" ON "delivery_verdicts" ("user_key") WHERE mpid IS NULL');
    await queryRunner.query(
      'CREATE TABLE "list_member_counts" ("list_id" bigint NOT NULL, "state" varchar(16) NOT NULL, "n" bigint NOT NULL, PRIMARY KEY ("list_id", "state"))',
    );
    await queryRunner.query(
      'CREATE TABLE "list_member_count_changes" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "list_id" bigint NOT NULL, "state" varchar(16) NOT NULL, "n" bigint NOT NULL)',
    );
    const add = (who: 'NEW' | 'OLD', d: 1 | -1) =>
      `INSERT INTO list_member_counts (list_id, state, n) VALUES (${who}.list_id, ${who}.state, ${d}) ON CONFLICT (list_id, state) DO UPDATE SET n = list_member_counts.n + (${d});`;
    await queryRunner.query(`CREATE TRIGGER list_member_counts_insert AFTER INSERT ON list_members BEGIN ${add('NEW', 1)} END`);
    await queryRunner.query(
      `CREATE TRIGGER list_member_counts_update AFTER UPDATE OF list_id, state ON list_members
       WHEN OLD.list_id IS NOT NEW.list_id OR OLD.state IS NOT NEW.state BEGIN ${add('OLD', -1)} ${add('NEW', 1)} END`,
    );
    await queryRunner.query(`CREATE TRIGGER list_member_counts_delete AFTER DELETE ON list_members BEGIN ${add('OLD', -1)} END`);
    await queryRunner.query('INSERT INTO list_member_counts (list_id, state, n) SELECT list_id, state, COUNT(*) FROM list_members GROUP BY list_id, state');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX "delivery_verdicts_without_mpid"');
    await queryRunner.query('DROP INDEX "memberships_without_mpid"');
    await queryRunner.query('DROP INDEX "memberships_by_user_id"');
    await queryRunner.query('DROP TRIGGER list_member_counts_delete');
    await queryRunner.query('DROP TRIGGER list_member_counts_update');
    await queryRunner.query('DROP TRIGGER list_member_counts_insert');
    await queryRunner.query('DROP TABLE "list_member_count_changes"');
    await queryRunner.query('DROP TABLE "list_member_counts"');
  }
}
