import { MigrationInterface, QueryRunner } from 'typeorm';
import { createIndexOnline, dropIndexOnline } from './online-index';

/**
 * An erasure's last step deletes the per-user verdicts naming its subject by email or userId: without an index on
 * either, it read every verdict row of the account (260 - 720 ms at 1.5 million rows in bench:size, inside the
 * transaction that completes the erasure; a real customer's 30 days hold tens of millions). Verdict rows are written
 * only for what did not simply succeed (a few percent of deliveries, by the worker), so two partial indexes cost ingest
 * nothing. Built concurrently (online-index.ts).
 */
export class DeliveryVerdictsByIdentity1797001700000 implements MigrationInterface {
  name = 'DeliveryVerdictsByIdentity1797001700000';
  transaction = false;

  async up(queryRunner: QueryRunner): Promise<void> {
    await createIndexOnline(queryRunner, 'delivery_verdicts_by_email', '"delivery_verdicts" ("email") WHERE email IS NOT NULL');
    await createIndexOnline(queryRunner, 'delivery_verdicts_by_user_id', '"delivery_verdicts" ("user_id") WHERE user_id IS NOT NULL');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await dropIndexOnline(queryRunner, 'delivery_verdicts_by_user_id');
    await dropIndexOnline(queryRunner, 'delivery_verdicts_by_email');
  }
}
