import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `memberships_by_email` on (email, account_id, audience_id) instead of (email): a worker reads a list's members by
 * their emails through the connections to the list. With the email alone, an email in many audiences cost a row
 * read per audience, and PostgreSQL chose to intersect it with the primary key's scan of the whole audience (700 ms a
 * round of 1000 emails on a 5-million audience, found by `npm run bench:size`). Building it locks memberships
 * against writes for as long as it takes (6.8 s at 10 million memberships in `npm run bench:size`).
 */
export class MembershipsByEmailAndAudience1797000800000 implements MigrationInterface {
  name = 'MembershipsByEmailAndAudience1797000800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX "public"."memberships_by_email"');
    await queryRunner.query('CREATE INDEX "memberships_by_email" ON "memberships"  ("email", "account_id", "audience_id") ');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX "public"."memberships_by_email"');
    await queryRunner.query('CREATE INDEX "memberships_by_email" ON "memberships"  ("email") ');
  }
}
