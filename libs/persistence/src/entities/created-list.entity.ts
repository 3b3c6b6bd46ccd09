import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintToNumber } from './column-transformers';

/**
 * A list audience-bridge finds or creates for an audience (README "Lists created for you"), one row per
 * (Iterable project, list name): the primary key is the claim, so across processes and machines one
 * subscription at a time asks Iterable for a name; the others wait for its list id. `project` is an HMAC of the
 * project's API key and data center (ApiKeyCipher.fingerprint), never the key. `state` is `claimed` while the
 * holder asks Iterable (`list_id` null; a claim whose holder died is taken over after a while) and `ready` once
 * the list id is known. `account_id`/`audience_id` name the connection the list was made for: a list that
 * another connection feeds is never given to a second audience under this name (it takes the next name).
 */
@Entity('created_lists')
@Index('created_lists_by_list', ['listId'])
export class CreatedListEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  project!: string;

  @PrimaryColumn({ type: 'varchar', length: 255 })
  name!: string;

  @Column({ name: 'list_id', type: 'bigint', nullable: true, transformer: bigintToNumber })
  listId!: number | null;

  @Column({ name: 'account_id', type: 'bigint', transformer: bigintToNumber })
  accountId!: number;

  @Column({ name: 'audience_id', type: 'bigint', transformer: bigintToNumber })
  audienceId!: number;

  /** The claim's holder (a random token), so a holder whose claim was taken over cannot settle it. */
  @Column({ type: 'varchar', length: 32 })
  holder!: string;

  /** Epoch ms of the claim (or its take-over). */
  @Column({ name: 'claimed_at_ms', type: 'bigint', transformer: bigintToNumber })
  claimedAtMs!: number;

  /** `claimed` (the holder is asking Iterable) or `ready` (list_id is known). */
  @Column({ type: 'varchar', length: 8 })
  state!: 'claimed' | 'ready';
}
