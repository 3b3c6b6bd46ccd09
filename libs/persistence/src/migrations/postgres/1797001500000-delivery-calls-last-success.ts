import { MigrationInterface, QueryRunner } from 'typeorm';
import { createIndexOnline, dropIndexOnline } from './online-index';

/**
 * The console's connections show each list's last successful call. Taking the newest success of every call read the
 * 30 days of calls whole (500,000 calls: 160 - 245 ms in bench:size, growing with the traffic); with the successful
 * calls apart, by account and list, it is one descent per connection. A call is one per thousand changes at most: the
 * entry costs ingest nothing and delivery next to nothing. Built concurrently (online-index.ts).
 */
export class DeliveryCallsLastSuccess1797001500000 implements MigrationInterface {
  name = 'DeliveryCallsLastSuccess1797001500000';
  transaction = false;

  async up(queryRunner: QueryRunner): Promise<void> {
    await createIndexOnline(
      queryRunner,
      'delivery_calls_last_success',
      '"delivery_calls" ("account_id", "list_id", "created_at_ms") WHERE http_status = 200 AND NOT dry_run',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await dropIndexOnline(queryRunner, 'delivery_calls_last_success');
  }
}
