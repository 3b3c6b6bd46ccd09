import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { ApiKeyCipher } from '../crypto/api-key-cipher';
import { Database } from '../database';

/** A new holder token for a claim on a list name. */
export const newClaimHolder = (): string => randomBytes(12).toString('hex');

/** The connection (account, audience) a created list was made for or is fed by. */
export interface ListConnection {
  accountId: number;
  audienceId: number;
}

/**
 * What a claim on (project, name) found: `held`, the caller holds the claim and asks Iterable (then `settle` or
 * `release`); `ready`, the name has a list, made for `owner`; `pending`, another subscription holds the claim
 * (for `owner`) and is asking Iterable now.
 */
export type ListClaim =
  { kind: 'held'; holder: string } | { kind: 'ready'; listId: number; owner: ListConnection } | { kind: 'pending'; owner: ListConnection; claimedAtMs: number };

interface ClaimRow {
  list_id: number | string | null;
  account_id: number | string;
  audience_id: number | string;
  holder: string;
  claimed_at_ms: number | string;
  state: string;
}

export const sameOwner = (a: ListConnection, b: ListConnection): boolean => a.accountId === b.accountId && a.audienceId === b.audienceId;

/**
 * The claim table of the lists created for audiences (`created_lists`, README "Lists created for you"): its
 * primary key (project, name) makes creation single-flight across processes and machines: one claimer asks
 * Iterable, the others wait for the list id it records. Projects are named by a keyed hash of the API key and
 * data center, never the key.
 */
@Injectable()
export class CreatedListsRepository {
  constructor(
    private readonly db: Database,
    private readonly cipher: ApiKeyCipher,
  ) {}

  /** The project a key speaks for, as stored: an HMAC of the data center and the key. */
  projectOf(apiKey: string, dataCenter: string): string {
    return this.cipher.fingerprint(`iterable project|${dataCenter}|${apiKey}`);
  }

  /**
   * Claims (project, name) for `owner`, or says who has it. A claim still without a list after `staleAfterMs` was
   * left by a holder that died: it is taken over (a new holder token, so the old holder can no longer settle it).
   * `holder`: the token to claim with (the caller's own, so a claim whose answer was lost can still be released).
   */
  async claim(project: string, name: string, owner: ListConnection, options: { staleAfterMs: number; nowMs?: number; holder?: string }): Promise<ListClaim> {
    const now = options.nowMs ?? Date.now();
    const holder = options.holder ?? newClaimHolder();
    const inserted = await this.db.execute(
      `INSERT INTO created_lists (project, name, list_id, account_id, audience_id, holder, claimed_at_ms, state)
       VALUES (?, ?, NULL, ?, ?, ?, ?, 'claimed') ON CONFLICT (project, name) DO NOTHING`,
      [project, name, owner.accountId, owner.audienceId, holder, now],
    );
    if (inserted.affected === 1) return { kind: 'held', holder };
    for (let attempt = 0; attempt < 3; attempt++) {
      const [row] = await this.db.query<ClaimRow>(
        `SELECT list_id, account_id, audience_id, holder, claimed_at_ms, state FROM created_lists WHERE project = ? AND name = ?`,
        [project, name],
      );
      if (!row) {
        // Released meanwhile: claim it again.
        const again = await this.db.execute(
          `INSERT INTO created_lists (project, name, list_id, account_id, audience_id, holder, claimed_at_ms, state)
           VALUES (?, ?, NULL, ?, ?, ?, ?, 'claimed') ON CONFLICT (project, name) DO NOTHING`,
          [project, name, owner.accountId, owner.audienceId, holder, now],
        );
        if (again.affected === 1) return { kind: 'held', holder };
        continue;
      }
      const rowOwner = { accountId: Number(row.account_id), audienceId: Number(row.audience_id) };
      if (row.state === 'ready' && row.list_id !== null) return { kind: 'ready', listId: Number(row.list_id), owner: rowOwner };
      const claimedAtMs = Number(row.claimed_at_ms);
      if (now - claimedAtMs < options.staleAfterMs) return { kind: 'pending', owner: rowOwner, claimedAtMs };
      const taken = await this.db.execute(
        `UPDATE created_lists SET holder = ?, claimed_at_ms = ?, account_id = ?, audience_id = ?
         WHERE project = ? AND name = ? AND state = 'claimed' AND holder = ?`,
        [holder, now, owner.accountId, owner.audienceId, project, name, row.holder],
      );
      if (taken.affected === 1) return { kind: 'held', holder };
    }
    throw new Error(`the claim on a list name changed hands too often to read`);
  }

  /**
   * The list already made for `owner` under one of `names` in the project (the first in their order), if any: a
   * repeated subscription answers it again, even when an earlier name of the rule has become free since.
   */
  async readyFor(project: string, owner: ListConnection, names: string[]): Promise<{ listId: number; name: string } | undefined> {
    if (names.length === 0) return undefined;
    const rows = await this.db.query<{ name: string; list_id: number | string }>(
      `SELECT name, list_id FROM created_lists
        WHERE project = ? AND account_id = ? AND audience_id = ? AND state = 'ready' AND list_id IS NOT NULL AND name IN (${names.map(() => '?').join(', ')})`,
      [project, owner.accountId, owner.audienceId, ...names],
    );
    for (const name of names) {
      const row = rows.find((r) => r.name === name);
      if (row) return { listId: Number(row.list_id), name };
    }
    return undefined;
  }

  /**
   * Records the list of a held claim (`owner`: the connection it is for, or the one that already feeds a list
   * found by that name). False when the claim is no longer this holder's (it was taken over).
   */
  async settle(project: string, name: string, holder: string, listId: number, owner: ListConnection): Promise<boolean> {
    const { affected } = await this.db.execute(
      `UPDATE created_lists SET list_id = ?, state = 'ready', account_id = ?, audience_id = ?
       WHERE project = ? AND name = ? AND holder = ? AND state = 'claimed'`,
      [listId, owner.accountId, owner.audienceId, project, name, holder],
    );
    return affected === 1;
  }

  /** Gives up a held claim (Iterable could not be asked): the next subscription claims the name again. */
  async release(project: string, name: string, holder: string): Promise<void> {
    await this.db.execute(`DELETE FROM created_lists WHERE project = ? AND name = ? AND holder = ? AND state = 'claimed'`, [project, name, holder]);
  }

  /** A ready name whose list nobody else feeds any more passes to `to`. False when it changed meanwhile. */
  async adopt(project: string, name: string, listId: number, from: ListConnection, to: ListConnection): Promise<boolean> {
    const { affected } = await this.db.execute(
      `UPDATE created_lists SET account_id = ?, audience_id = ?
       WHERE project = ? AND name = ? AND list_id = ? AND account_id = ? AND audience_id = ? AND state = 'ready'`,
      [to.accountId, to.audienceId, project, name, listId, from.accountId, from.audienceId],
    );
    return affected === 1;
  }

  /**
   * The connections other than `except` that feed the list (Iterable list ids are unique, so any account, any
   * project): every connection mapped to it and not removed, and every connection a list of this id was made for
   * whose subscription may not have recorded it yet (no connection row, or one still without a list).
   */
  async otherFeeders(listId: number, except: ListConnection): Promise<ListConnection[]> {
    const rows = await this.db.query<{ account_id: number | string; audience_id: number | string }>(
      `SELECT account_id, audience_id FROM audience_connections
        WHERE list_id = ? AND status <> 'removed' AND NOT (account_id = ? AND audience_id = ?)
       UNION
       SELECT c.account_id, c.audience_id FROM created_lists c
        WHERE c.list_id = ? AND NOT (c.account_id = ? AND c.audience_id = ?)
          AND NOT EXISTS (SELECT 1 FROM audience_connections a WHERE a.account_id = c.account_id AND a.audience_id = c.audience_id
                            AND (a.status = 'removed' OR (a.list_id IS NOT NULL AND a.list_id <> c.list_id)))
       ORDER BY account_id, audience_id`,
      [listId, except.accountId, except.audienceId, listId, except.accountId, except.audienceId],
    );
    return rows.map((r) => ({ accountId: Number(r.account_id), audienceId: Number(r.audience_id) }));
  }

  /** The list is gone from Iterable: its names are free again. */
  async forgetList(listId: number): Promise<void> {
    await this.db.execute(`DELETE FROM created_lists WHERE list_id = ?`, [listId]);
  }
}
