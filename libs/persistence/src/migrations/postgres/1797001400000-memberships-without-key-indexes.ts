import { MigrationInterface, QueryRunner } from 'typeorm';
import { createIndexOnline, dropIndexOnline } from './online-index';

/**
 * `memberships` loses its indexes on the user key alone (`memberships_by_mpid`, and `memberships_without_mpid` for
 * profiles without one): the console's and operators' lookups by key probe the primary key once per audience
 * connection instead (repositories/membership-keys.ts). Each cost a membership 48 bytes, and each new membership one
 * more B-tree insert while its message waits for its answer. Dropped concurrently: memberships takes writes all the
 * while (online-index.ts); the release before this one still finds its rows, only by a longer road.
 */
export class MembershipsWithoutKeyIndexes1797001400000 implements MigrationInterface {
  name = 'MembershipsWithoutKeyIndexes1797001400000';
  transaction = false;

  async up(queryRunner: QueryRunner): Promise<void> {
    await dropIndexOnline(queryRunner, 'memberships_by_mpid');
    await dropIndexOnline(queryRunner, 'memberships_without_mpid');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await createIndexOnline(queryRunner, 'memberships_without_mpid', '"memberships" ("user_key") WHERE mpid IS NULL');
    await createIndexOnline(queryRunner, 'memberships_by_mpid', '"memberships" ("mpid")');
  }
}
