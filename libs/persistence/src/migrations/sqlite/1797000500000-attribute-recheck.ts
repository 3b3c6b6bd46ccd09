import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `attribute_inbox.due_at_ms`: a row is read from this time on. A users/bulkUpdate whose answer never came leaves
 * a row per user due ITERABLE_LATE_APPLY_WINDOW_MS later, so their newest fields are sent again after Iterable
 * has applied (or dropped) the call we gave up on (README "User attributes").
 */
export class AttributeRecheck1797000500000 implements MigrationInterface {
  name = 'AttributeRecheck1797000500000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "attribute_inbox" ADD COLUMN "due_at_ms" bigint NOT NULL DEFAULT 0');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "attribute_inbox" DROP COLUMN "due_at_ms"');
  }
}
