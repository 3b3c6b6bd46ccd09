import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A user's memberships are found by key through the primary key, one probe per audience connection
 * (repositories/membership-keys.ts), so `memberships` loses its indexes on the key alone: `memberships_by_mpid`, and
 * `memberships_without_mpid` for profiles without one. The userId index keeps only the rows whose userId is not their
 * key (`memberships_by_customer_id`: Customer ID accounts' customer ids); in mParticle ID accounts the userId is the
 * mpid, the key. `memberships_by_prev_email` holds the few rows whose identity changed, by the email they named
 * before: with these, an erasure (answered while mParticle waits) finds its subject's rows through indexes, not by
 * reading the whole account's memberships. Each index cost its memberships an entry and every new membership a B-tree
 * insert while its message waited for its answer.
 */
export class MembershipsKeyedLookups1797001400000 implements MigrationInterface {
  name = 'MembershipsKeyedLookups1797001400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('CREATE INDEX "memberships_by_prev_email" ON "memberships" ("prev_email") WHERE prev_email IS NOT NULL');
    await queryRunner.query('CREATE INDEX "memberships_by_customer_id" ON "memberships" ("user_id") WHERE user_id <> user_key');
    await queryRunner.query('DROP INDEX "memberships_by_user_id"');
    await queryRunner.query('DROP INDEX "memberships_by_mpid"');
    await queryRunner.query('DROP INDEX "memberships_without_mpid"');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('CREATE INDEX "memberships_without_mpid" ON "memberships" ("user_key") WHERE mpid IS NULL');
    await queryRunner.query('CREATE INDEX "memberships_by_mpid" ON "memberships" ("mpid") ');
    await queryRunner.query('CREATE INDEX "memberships_by_user_id" ON "memberships" ("user_id") ');
    await queryRunner.query('DROP INDEX "memberships_by_customer_id"');
    await queryRunner.query('DROP INDEX "memberships_by_prev_email"');
  }
}
