import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The console's connections show each list's last successful call: with the successful calls apart, by account and
 * list, it is one descent per connection instead of a read of every call kept (see the PostgreSQL migration).
 */
export class DeliveryCallsLastSuccess1797001500000 implements MigrationInterface {
  name = 'DeliveryCallsLastSuccess1797001500000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE INDEX "delivery_calls_last_success" ON "delivery_calls" ("account_id", "list_id", "created_at_ms") WHERE http_status = 200 AND NOT dry_run',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX "delivery_calls_last_success"');
  }
}
