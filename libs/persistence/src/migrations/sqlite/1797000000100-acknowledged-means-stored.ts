import { MigrationInterface, QueryRunner } from 'typeorm';

export class AcknowledgedMeansStored1797000000100 implements MigrationInterface {
  name = 'AcknowledgedMeansStored1797000000100';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('CREATE TABLE "storage_probe" ("holder" varchar(64) PRIMARY KEY NOT NULL, "written_at_ms" bigint NOT NULL, "pad" text NOT NULL)');
    await queryRunner.query('ALTER TABLE "received_messages" ADD COLUMN "timestamp_ms" bigint');
    await queryRunner.query('CREATE INDEX "received_messages_by_time" ON "received_messages" ("account_id", "timestamp_ms") ');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX "received_messages_by_time"');
    await queryRunner.query('ALTER TABLE "received_messages" DROP COLUMN "timestamp_ms"');
    await queryRunner.query('DROP TABLE "storage_probe"');
  }
}
