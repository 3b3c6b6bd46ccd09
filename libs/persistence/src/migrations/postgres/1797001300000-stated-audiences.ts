import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `received_messages.stated_audiences`: the audiences whose list each membership message named (`,10,20,`), so a
 * message that only restated an audience's list still counts as the newest statement of it, and an older message
 * naming another list that arrives after it no longer moves the audience. A nullable column: no rewrite, no lock
 * held beyond the catalogue update.
 */
export class StatedAudiences1797001300000 implements MigrationInterface {
  name = 'StatedAudiences1797001300000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "received_messages" ADD "stated_audiences" text');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "received_messages" DROP COLUMN "stated_audiences"');
  }
}
