import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `memberships` pages are filled to 90 % by new rows, leaving room for the next version of each: a change that keeps
 * the member's identity writes no indexed column, so PostgreSQL updates the row on its own page without an entry in
 * any of the table's indexes (a HOT update). Filled to 100 % (the default), the first change of every membership
 * found its page full and wrote a new entry in each index. A user's changes recur (a real customer sends about ten a
 * day per membership), so this is most of ingest's writes. Applies to pages written from now on (no rewrite, no lock
 * beyond a moment's); SQLite has no such setting.
 */
export class MembershipsFillFactor1797002000000 implements MigrationInterface {
  name = 'MembershipsFillFactor1797002000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "memberships" SET (fillfactor = 90)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "memberships" RESET (fillfactor)');
  }
}
