import { MigrationInterface, QueryRunner } from 'typeorm';
import { createIndexOnline, dropIndexOnline } from './online-index';

/**
 * An erasure (answered to mParticle once done) finds its subject's forwarded attribute values by key, email and
 * userId: without an index on the last two it read every attribute row of the account (a value per user and attribute,
 * millions in a big account). `user_attributes_by_email`, and the userId index only for rows whose userId is not their
 * key (Customer ID accounts; in mParticle ID accounts the userId is the mpid, the key, found through the primary key).
 * An attribute update that changes a value only writes neither. Built concurrently (online-index.ts).
 */
export class UserAttributesByIdentity1797001800000 implements MigrationInterface {
  name = 'UserAttributesByIdentity1797001800000';
  transaction = false;

  async up(queryRunner: QueryRunner): Promise<void> {
    await createIndexOnline(queryRunner, 'user_attributes_by_email', '"user_attributes" ("email") WHERE email IS NOT NULL');
    await createIndexOnline(queryRunner, 'user_attributes_by_customer_id', '"user_attributes" ("user_id") WHERE user_id <> user_key');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await dropIndexOnline(queryRunner, 'user_attributes_by_customer_id');
    await dropIndexOnline(queryRunner, 'user_attributes_by_email');
  }
}
