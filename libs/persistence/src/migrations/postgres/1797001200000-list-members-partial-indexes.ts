import { MigrationInterface, QueryRunner } from 'typeorm';
import { createIndexOnline, dropIndexOnline } from './online-index';

/**
 * `list_members`' recheck and state indexes hold only the rows they are read for: members with a recheck planned,
 * by list (`list_id = ? AND recheck_at_ms <= ?`: a list's job, the sweeper), and members refused for good (a
 * replay's `state = 'failed'`). Every member had an entry in both (17 – 19 bytes a member of the 280 its row and indexes take), and every settled change wrote both again.
 * Built and dropped concurrently: list_members takes writes all the while (online-index.ts).
 */
export class ListMembersPartialIndexes1797001200000 implements MigrationInterface {
  name = 'ListMembersPartialIndexes1797001200000';
  transaction = false;

  async up(queryRunner: QueryRunner): Promise<void> {
    await createIndexOnline(queryRunner, 'list_members_recheck_due', '"list_members" ("list_id", "recheck_at_ms") WHERE recheck_at_ms IS NOT NULL');
    await createIndexOnline(queryRunner, 'list_members_failed', `"list_members" ("list_id") WHERE state = 'failed'`);
    await dropIndexOnline(queryRunner, 'list_members_recheck');
    await dropIndexOnline(queryRunner, 'list_members_by_state');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await createIndexOnline(queryRunner, 'list_members_by_state', '"list_members" ("list_id", "state")');
    await createIndexOnline(queryRunner, 'list_members_recheck', '"list_members" ("recheck_at_ms")');
    await dropIndexOnline(queryRunner, 'list_members_failed');
    await dropIndexOnline(queryRunner, 'list_members_recheck_due');
  }
}
