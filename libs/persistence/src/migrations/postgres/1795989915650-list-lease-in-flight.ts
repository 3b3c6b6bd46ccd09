import { MigrationInterface, QueryRunner } from 'typeorm';

export class ListLeaseInFlight1795989915650 implements MigrationInterface {
  name = 'ListLeaseInFlight1795989915650';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "list_leases" ADD "in_flight" text');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "list_leases" DROP COLUMN "in_flight"');
  }
}
