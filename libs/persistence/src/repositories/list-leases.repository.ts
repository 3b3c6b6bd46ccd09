import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Database } from '../database';

/** A delivery's right to call Iterable for a list: who holds it and the generation that fences its calls. */
export interface ListLease {
  listId: number;
  holder: string;
  generation: number;
}

/** Why a list is not delivered right now. */
export interface ListBackoff {
  attempts: number;
  nextAttemptAt: number | null;
  failingSince: number | null;
}

/** What a delivery finds when it takes a list: the members of a call a previous holder died during, if any. */
export interface TakenList {
  inFlight: string[] | null;
}

/**
 * One writer per Iterable list (DESIGN invariant 3), fenced: a lease row per list with a holder, an expiry
 * and a generation that grows with every take-over. Taking it succeeds when it is free, lapsed, or already
 * ours. `fence` is the check made before every Iterable call (before its rate-limiter wait, and after it when
 * the wait was long): it extends the lease only if the generation is still ours, so a delivery that was paused
 * past its lease sends nothing. The same row keeps
 * the list's backoff after transient failures. Works the same on SQLite and PostgreSQL.
 */
@Injectable()
export class ListLeasesRepository {
  constructor(private readonly db: Database) {}

  async acquire(listId: number, holder: string, ttlMs: number, now = Date.now()): Promise<(ListLease & ListBackoff & TakenList) | undefined> {
    const [row] = await this.db.query<{
      generation: number | string;
      attempts: number | string;
      next_attempt_at: number | string | null;
      failing_since: number | string | null;
      in_flight: string | null;
    }>(
      `INSERT INTO list_leases (list_id, holder, generation, expires_at, attempts) VALUES (?, ?, 1, ?, 0)
       ON CONFLICT (list_id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at, generation = list_leases.generation + 1
       WHERE list_leases.holder IS NULL OR list_leases.expires_at < ? OR list_leases.holder = excluded.holder
       RETURNING generation, attempts, next_attempt_at, failing_since, in_flight`,
      [listId, holder, now + ttlMs, now],
    );
    if (!row) return undefined;
    const num = (v: number | string | null) => (v === null ? null : Number(v));
    return {
      listId,
      holder,
      generation: Number(row.generation),
      attempts: Number(row.attempts),
      nextAttemptAt: num(row.next_attempt_at),
      failingSince: num(row.failing_since),
      inFlight: row.in_flight === null ? null : (JSON.parse(row.in_flight) as string[]),
    };
  }

  /**
   * Extends the lease if it is still this generation's; false when another delivery has taken the list.
   * `inFlight`: the member keys of the call about to go out (kept until the call is settled), or null to
   * clear them; undefined leaves them as they are.
   */
  async fence(
    lease: ListLease,
    ttlMs: number,
    manager?: EntityManager,
    now = Date.now(),
    inFlight?: string[] | null,
    /** The account whose key the call about to go out carries: remembered now, so a call never answered still has an owner. */
    accountId?: number,
  ): Promise<boolean> {
    const { affected } = await this.db.execute(
      `UPDATE list_leases SET expires_at = ?${inFlight === undefined ? '' : ', in_flight = ?'}${accountId === undefined ? '' : ', account_id = ?'}
       WHERE list_id = ? AND holder = ? AND generation = ?`,
      [
        now + ttlMs,
        ...(inFlight === undefined ? [] : [inFlight === null ? null : JSON.stringify(inFlight)]),
        ...(accountId === undefined ? [] : [accountId]),
        lease.listId,
        lease.holder,
        lease.generation,
      ],
      manager,
    );
    return affected > 0;
  }

  /**
   * The fence of a settlement, in its transaction: the lease is extended if still this generation's, the call
   * in flight is settled (cleared), and the account whose key delivered the list is remembered.
   */
  async fenceSettlement(lease: ListLease, ttlMs: number, accountId: number | null, manager: EntityManager, now = Date.now()): Promise<boolean> {
    const { affected } = await this.db.execute(
      `UPDATE list_leases SET expires_at = ?, in_flight = NULL, account_id = COALESCE(?, account_id) WHERE list_id = ? AND holder = ? AND generation = ?`,
      [now + ttlMs, accountId, lease.listId, lease.holder, lease.generation],
      manager,
    );
    return affected > 0;
  }

  async release(lease: ListLease): Promise<void> {
    await this.db.query(`UPDATE list_leases SET holder = NULL, expires_at = 0 WHERE list_id = ? AND holder = ? AND generation = ?`, [
      lease.listId,
      lease.holder,
      lease.generation,
    ]);
  }

  /** A transient failure: the list waits until `nextAttemptAt`. */
  async backOff(lease: ListLease, nextAttemptAt: number, error: string, now = Date.now()): Promise<void> {
    await this.db.query(
      `UPDATE list_leases SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, failing_since = COALESCE(failing_since, ?)
       WHERE list_id = ? AND generation = ?`,
      [nextAttemptAt, error, now, lease.listId, lease.generation],
    );
  }

  /** A call went through: the list's backoff is over. */
  async recovered(lease: ListLease): Promise<void> {
    await this.db.query(
      `UPDATE list_leases SET attempts = 0, next_attempt_at = NULL, last_error = NULL, failing_since = NULL ` +
        `WHERE list_id = ? AND generation = ? AND attempts > 0`,
      [lease.listId, lease.generation],
    );
  }

  /** Lists waiting after transient failures: how many, and since when the oldest has been failing. */
  async failing(): Promise<{ lists: number; oldestSince: number | null }> {
    const [row] = await this.db.query<{ n: number | string; oldest: number | string | null }>(
      `SELECT COUNT(*) AS n, MIN(failing_since) AS oldest FROM list_leases WHERE failing_since IS NOT NULL`,
    );
    return { lists: Number(row?.n ?? 0), oldestSince: row?.oldest === null || row?.oldest === undefined ? null : Number(row.oldest) };
  }
}
