import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `memberships` loses its indexes on the user key alone (`memberships_by_mpid`, and `memberships_without_mpid` for
 * profiles without one): the console's and operators' lookups by key probe the primary key once per audience
 * connection instead (repositories/membership-keys.ts). Each cost every membership an entry, and every new membership
 * one more B-tree insert while its message waits for its answer.
 */
export class MembershipsWithoutKeyIndexes1797001400000 implements MigrationInterface {
  name = 'MembershipsWithoutKeyIndexes1797001400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX "memberships_by_mpid"');
    await queryRunner.query('DROP INDEX "memberships_without_mpid"');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('CREATE INDEX "memberships_without_mpid" ON "memberships" ("user_key") WHERE mpid IS NULL');
    await queryRunner.query('CREATE INDEX "memberships_by_mpid" ON "memberships" ("mpid") ');
  }
}
