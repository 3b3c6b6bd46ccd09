import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `list_members`' recheck and state indexes hold only the rows they are read for: members with a recheck planned,
 * by list (`list_id = ? AND recheck_at_ms <= ?`: a list's job, the sweeper), and members refused for good (a
 * replay's `state = 'failed'`). Every member had an entry in both, and every settled change wrote both again.
 */
export class ListMembersPartialIndexes1797001200000 implements MigrationInterface {
  name = 'ListMembersPartialIndexes1797001200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('CREATE INDEX "list_members_recheck_due" ON "list_members" ("list_id", "recheck_at_ms") WHERE recheck_at_ms IS NOT NULL');
    await queryRunner.query(`CREATE INDEX "list_members_failed" ON "list_members" ("list_id") WHERE state = 'failed'`);
    await queryRunner.query('DROP INDEX "list_members_recheck"');
    await queryRunner.query('DROP INDEX "list_members_by_state"');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('CREATE INDEX "list_members_by_state" ON "list_members" ("list_id", "state") ');
    await queryRunner.query('CREATE INDEX "list_members_recheck" ON "list_members" ("recheck_at_ms") ');
    await queryRunner.query('DROP INDEX "list_members_failed"');
    await queryRunner.query('DROP INDEX "list_members_recheck_due"');
  }
}
