import { Injectable } from '@nestjs/common';
import { Database } from '../database';

/**
 * Leases that make one worker process the only writer of an Iterable list at a time (DESIGN invariant 3).
 * A lease is a row with a holder and an expiry: taking it succeeds when it is free, lapsed, or already
 * ours; a crashed holder's lease lapses by itself. Works the same on SQLite and PostgreSQL.
 */
@Injectable()
export class ListLeasesRepository {
  constructor(private readonly db: Database) {}

  async acquire(accountId: number, listId: number, holder: string, ttlMs: number, now = Date.now()): Promise<boolean> {
    const rows = await this.db.query(
      `INSERT INTO list_leases (account_id, list_id, holder, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (account_id, list_id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
       WHERE list_leases.expires_at < ? OR list_leases.holder = excluded.holder
       RETURNING holder`,
      [accountId, listId, holder, now + ttlMs, now],
    );
    return rows.length === 1;
  }

  /** Extends our lease; false when it is no longer ours (it lapsed and another process took it). */
  async renew(accountId: number, listId: number, holder: string, ttlMs: number, now = Date.now()): Promise<boolean> {
    const { affected } = await this.db.execute(`UPDATE list_leases SET expires_at = ? WHERE account_id = ? AND list_id = ? AND holder = ?`, [
      now + ttlMs,
      accountId,
      listId,
      holder,
    ]);
    return affected > 0;
  }

  async release(accountId: number, listId: number, holder: string): Promise<void> {
    await this.db.query(`DELETE FROM list_leases WHERE account_id = ? AND list_id = ? AND holder = ?`, [accountId, listId, holder]);
  }
}
