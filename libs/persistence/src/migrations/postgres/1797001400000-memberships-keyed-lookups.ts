import { MigrationInterface, QueryRunner } from 'typeorm';
import { createIndexOnline, dropIndexOnline } from './online-index';

/**
 * A user's memberships are found by key through the primary key, one probe per audience connection
 * (repositories/membership-keys.ts), so `memberships` loses its indexes on the key alone: `memberships_by_mpid`, and
 * `memberships_without_mpid` for profiles without one. The userId index keeps only the rows whose userId is not their
 * key (`memberships_by_customer_id`: Customer ID accounts' customer ids); in mParticle ID accounts the userId is the
 * mpid, the key. `memberships_by_prev_email` holds the few rows whose identity changed, by the email they named
 * before: with these, an erasure (answered while mParticle waits) finds its subject's rows through indexes, not by
 * reading the whole account's memberships. Each index cost its memberships an entry (48 bytes at 10 million
 * memberships, the mpid one) and every new membership a B-tree insert while its message waited for its answer. Built
 * and dropped concurrently: memberships takes writes all the while (online-index.ts); the release before this one
 * still finds its rows, by a longer road.
 */
export class MembershipsKeyedLookups1797001400000 implements MigrationInterface {
  name = 'MembershipsKeyedLookups1797001400000';
  transaction = false;

  async up(queryRunner: QueryRunner): Promise<void> {
    await createIndexOnline(queryRunner, 'memberships_by_prev_email', '"memberships" ("prev_email") WHERE prev_email IS NOT NULL');
    await createIndexOnline(queryRunner, 'memberships_by_customer_id', '"memberships" ("user_id") WHERE user_id <> user_key');
    await dropIndexOnline(queryRunner, 'memberships_by_user_id');
    await dropIndexOnline(queryRunner, 'memberships_by_mpid');
    await dropIndexOnline(queryRunner, 'memberships_without_mpid');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await createIndexOnline(queryRunner, 'memberships_without_mpid', '"memberships" ("user_key") WHERE mpid IS NULL');
    await createIndexOnline(queryRunner, 'memberships_by_mpid', '"memberships" ("mpid")');
    await createIndexOnline(queryRunner, 'memberships_by_user_id', '"memberships" ("user_id")');
    await dropIndexOnline(queryRunner, 'memberships_by_customer_id');
    await dropIndexOnline(queryRunner, 'memberships_by_prev_email');
  }
}
