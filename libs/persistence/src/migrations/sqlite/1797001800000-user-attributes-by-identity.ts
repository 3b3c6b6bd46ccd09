import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An erasure finds its subject's forwarded attribute values by email and userId through these indexes instead of
 * reading every attribute row of the account (see the PostgreSQL migration).
 */
export class UserAttributesByIdentity1797001800000 implements MigrationInterface {
  name = 'UserAttributesByIdentity1797001800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('CREATE INDEX "user_attributes_by_email" ON "user_attributes" ("email") WHERE email IS NOT NULL');
    await queryRunner.query('CREATE INDEX "user_attributes_by_customer_id" ON "user_attributes" ("user_id") WHERE user_id <> user_key');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX "user_attributes_by_customer_id"');
    await queryRunner.query('DROP INDEX "user_attributes_by_email"');
  }
}
