import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An erasure deletes the per-user verdicts naming its subject by email or userId through these indexes instead of
 * reading every verdict row of the account (see the PostgreSQL migration).
 */
export class DeliveryVerdictsByIdentity1797001700000 implements MigrationInterface {
  name = 'DeliveryVerdictsByIdentity1797001700000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('CREATE INDEX "delivery_verdicts_by_email" ON "delivery_verdicts" ("email") WHERE email IS NOT NULL');
    await queryRunner.query('CREATE INDEX "delivery_verdicts_by_user_id" ON "delivery_verdicts" ("user_id") WHERE user_id IS NOT NULL');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX "delivery_verdicts_by_user_id"');
    await queryRunner.query('DROP INDEX "delivery_verdicts_by_email"');
  }
}
