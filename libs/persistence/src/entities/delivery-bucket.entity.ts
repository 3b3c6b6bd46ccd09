import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import { bigintToNumber } from './column-transformers';

/**
 * Iterable calls recorded per quarter hour (`DELIVERY_BUCKET_MS`, from the epoch): the console's day of traffic
 * (`/v1/summary?window=day`) reads 96 of these rows instead of a day of `delivery_calls`, which grows with traffic.
 * Kept by an insert trigger on `delivery_calls`: they count the calls made, so an erasure that edits the audit
 * leaves them as they were; the retention prune drops whole buckets. A bucket's figures are the sum of its row here
 * and of its rows in `call_bucket_changes` (the same design as `call_counts`).
 */
@Entity('call_buckets')
export class CallBucketEntity {
  @PrimaryColumn({ name: 'bucket_ms', type: 'bigint', transformer: bigintToNumber })
  bucketMs!: number;

  /** Calls not in dry run; of them, those not answered 200; dry-run calls apart. */
  @Column({ type: 'bigint', transformer: bigintToNumber })
  calls!: number;

  @Column({ name: 'failed_calls', type: 'bigint', transformer: bigintToNumber })
  failedCalls!: number;

  @Column({ name: 'dry_run_calls', type: 'bigint', transformer: bigintToNumber })
  dryRunCalls!: number;

  /** Subscribers Iterable counted as done, by subscribe and unsubscribe calls (not in dry run). */
  @Column({ type: 'bigint', transformer: bigintToNumber })
  adds!: number;

  @Column({ type: 'bigint', transformer: bigintToNumber })
  removes!: number;
}

/** Changes to `call_buckets` not yet folded (PostgreSQL: each insert statement appends here; the sweeper folds). */
@Entity('call_bucket_changes')
export class CallBucketChangeEntity {
  @PrimaryGeneratedColumn('increment', { type: 'integer' })
  id!: number;

  @Column({ name: 'bucket_ms', type: 'bigint', transformer: bigintToNumber })
  bucketMs!: number;

  @Column({ type: 'bigint', transformer: bigintToNumber })
  calls!: number;

  @Column({ name: 'failed_calls', type: 'bigint', transformer: bigintToNumber })
  failedCalls!: number;

  @Column({ name: 'dry_run_calls', type: 'bigint', transformer: bigintToNumber })
  dryRunCalls!: number;

  @Column({ type: 'bigint', transformer: bigintToNumber })
  adds!: number;

  @Column({ type: 'bigint', transformer: bigintToNumber })
  removes!: number;
}

/**
 * Members delivered per quarter hour and audience connection: added, removed, refused for good (not retryable).
 * `/v1/connections`' 24 h figures read these (and the audit of the part of a quarter hour at the window's start)
 * instead of a day of `delivery_verdicts` and `delivery_successes`. Kept by insert triggers on both, like
 * `call_buckets`.
 */
@Entity('outcome_buckets')
export class OutcomeBucketEntity {
  @PrimaryColumn({ name: 'bucket_ms', type: 'bigint', transformer: bigintToNumber })
  bucketMs!: number;

  @PrimaryColumn({ name: 'account_id', type: 'bigint', transformer: bigintToNumber })
  accountId!: number;

  @PrimaryColumn({ name: 'audience_id', type: 'bigint', transformer: bigintToNumber })
  audienceId!: number;

  @PrimaryColumn({ name: 'list_id', type: 'bigint', transformer: bigintToNumber })
  listId!: number;

  @Column({ type: 'bigint', transformer: bigintToNumber })
  adds!: number;

  @Column({ type: 'bigint', transformer: bigintToNumber })
  removes!: number;

  @Column({ type: 'bigint', transformer: bigintToNumber })
  failed!: number;
}

/** Changes to `outcome_buckets` not yet folded (PostgreSQL). */
@Entity('outcome_bucket_changes')
export class OutcomeBucketChangeEntity {
  @PrimaryGeneratedColumn('increment', { type: 'integer' })
  id!: number;

  @Column({ name: 'bucket_ms', type: 'bigint', transformer: bigintToNumber })
  bucketMs!: number;

  @Column({ name: 'account_id', type: 'bigint', transformer: bigintToNumber })
  accountId!: number;

  @Column({ name: 'audience_id', type: 'bigint', transformer: bigintToNumber })
  audienceId!: number;

  @Column({ name: 'list_id', type: 'bigint', transformer: bigintToNumber })
  listId!: number;

  @Column({ type: 'bigint', transformer: bigintToNumber })
  adds!: number;

  @Column({ type: 'bigint', transformer: bigintToNumber })
  removes!: number;

  @Column({ type: 'bigint', transformer: bigintToNumber })
  failed!: number;
}

/**
 * Iterable calls (not in dry run) per account and calendar second, for the busiest second of the console's day
 * (`/v1/summary`'s `rate.peakPerSecond`) without grouping a day of `delivery_calls` by second. Kept by an insert
 * trigger on `delivery_calls` like `call_buckets`; kept for two days (the longest window is one).
 */
@Entity('call_seconds')
export class CallSecondEntity {
  @PrimaryColumn({ name: 'second_ms', type: 'bigint', transformer: bigintToNumber })
  secondMs!: number;

  @PrimaryColumn({ name: 'account_id', type: 'bigint', transformer: bigintToNumber })
  accountId!: number;

  @Column({ type: 'bigint', transformer: bigintToNumber })
  calls!: number;
}

/** Changes to `call_seconds` not yet folded (PostgreSQL: each insert statement appends here; the sweeper folds). */
@Entity('call_second_changes')
export class CallSecondChangeEntity {
  @PrimaryGeneratedColumn('increment', { type: 'integer' })
  id!: number;

  @Column({ name: 'second_ms', type: 'bigint', transformer: bigintToNumber })
  secondMs!: number;

  @Column({ name: 'account_id', type: 'bigint', transformer: bigintToNumber })
  accountId!: number;

  @Column({ type: 'bigint', transformer: bigintToNumber })
  calls!: number;
}

/**
 * Each account's busiest folded second per quarter hour (`DELIVERY_BUCKET_MS`): raised whenever a second's folded
 * count passes it (a second's count only grows), so the day's busiest second reads 96 rows per account.
 */
@Entity('call_peaks')
export class CallPeakEntity {
  @PrimaryColumn({ name: 'bucket_ms', type: 'bigint', transformer: bigintToNumber })
  bucketMs!: number;

  @PrimaryColumn({ name: 'account_id', type: 'bigint', transformer: bigintToNumber })
  accountId!: number;

  @Column({ name: 'second_ms', type: 'bigint', transformer: bigintToNumber })
  secondMs!: number;

  @Column({ type: 'bigint', transformer: bigintToNumber })
  calls!: number;
}
