import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Database } from '../database';
import { CallRow, insertCallAndVerdicts, placeholders, VerdictRow } from './audit-rows';

/** One forwarded attribute of one user as ingest records it (the shape `mapAttributeChanges` gives). */
export interface AttributeChangeInput {
  accountId: number;
  userKey: string;
  key: string;
  /** The typed value as JSON (`null` clears the field), or null with `skipReason`. */
  valueJson: string | null;
  skipReason: string | null;
  mpid: string | null;
  email: string | null;
  userId: string | null;
  sourceMessageId: string;
  timestampMs: number;
}

/** The desired attributes of one user, as the worker reads them. */
export interface UserAttributeState {
  userKey: string;
  mpid: string | null;
  email: string | null;
  userId: string | null;
  /** Forwarded fields with their typed value (null clears). */
  fields: Record<string, unknown>;
  /** Fields whose newest value could not be typed, with the reason. */
  skipped: { key: string; reason: string }[];
}

export interface AttributeInboxBatch {
  ids: number[];
  userKeys: string[];
  oldestAtMs: number;
}

/** An audit call for users/bulkUpdate (`delivery_calls.action` `bulkUpdate`, `list_id` 0: no list). */
export interface AttributeCallRecord extends Omit<CallRow, 'listId' | 'action' | 'subscriberCount'> {
  userCount: number;
}

/** A per-user verdict (`delivery_verdicts.action` `fields`, audience and list 0). */
export type AttributeVerdictRecord = Omit<VerdictRow, 'accountId' | 'audienceId' | 'action'>;

/** The action of an attribute call in `delivery_calls`, and of its verdicts in `delivery_verdicts` (8 characters at most there). */
export const ATTRIBUTE_CALL_ACTION = 'bulkUpdate';
export const ATTRIBUTE_VERDICT_ACTION = 'fields';

const ATTRIBUTE_COLUMNS = [
  { name: 'account_id', type: 'bigint' },
  { name: 'user_key', type: 'text' },
  { name: 'attribute_key', type: 'text' },
  { name: 'value', type: 'text' },
  { name: 'skip_reason', type: 'text' },
  { name: 'mpid', type: 'text' },
  { name: 'email', type: 'text' },
  { name: 'user_id', type: 'text' },
  { name: 'source_message_id', type: 'text' },
  { name: 'timestamp_ms', type: 'bigint' },
  { name: 'updated_at_ms', type: 'bigint' },
] as const;

/**
 * Ingest's half (inside the message's transaction): newest `timestamp_ms` per (account, user, attribute) wins,
 * then the greater message id; every user with an accepted change gets one `attribute_inbox` row. `changes`
 * come sorted by (user, key), so concurrent transactions lock rows in one order. Answers the users appended.
 */
export async function recordAttributes(db: Database, manager: EntityManager, changes: readonly AttributeChangeInput[], now = Date.now()): Promise<number> {
  if (changes.length === 0) return 0;
  const rows = await db.insertRows<{ account_id: string | number; user_key: string }>(
    'user_attributes',
    ATTRIBUTE_COLUMNS,
    changes.map((c) => [c.accountId, c.userKey, c.key, c.valueJson, c.skipReason, c.mpid, c.email, c.userId, c.sourceMessageId, c.timestampMs, now]),
    `ON CONFLICT (account_id, user_key, attribute_key) DO UPDATE SET
       value = excluded.value,
       skip_reason = excluded.skip_reason,
       mpid = COALESCE(excluded.mpid, user_attributes.mpid),
       email = COALESCE(excluded.email, user_attributes.email),
       user_id = COALESCE(excluded.user_id, user_attributes.user_id),
       source_message_id = excluded.source_message_id,
       timestamp_ms = excluded.timestamp_ms,
       updated_at_ms = excluded.updated_at_ms
     WHERE excluded.timestamp_ms > user_attributes.timestamp_ms
        OR (excluded.timestamp_ms = user_attributes.timestamp_ms
            AND ${db.binary('excluded.source_message_id')} > ${db.binary('user_attributes.source_message_id')})
     RETURNING account_id, user_key`,
    manager,
  );
  const users = new Map<string, [number, string]>();
  for (const r of rows) users.set(`${r.account_id}\u0000${r.user_key}`, [Number(r.account_id), r.user_key]);
  await db.insertRows(
    'attribute_inbox',
    [
      { name: 'account_id', type: 'bigint' },
      { name: 'user_key', type: 'text' },
      { name: 'created_at_ms', type: 'bigint' },
    ],
    [...users.values()].map(([accountId, userKey]) => [accountId, userKey, now]),
    '',
    manager,
  );
  return users.size;
}

/**
 * The attributes worker's reads and writes (README "User attributes"). It owns `attribute_leases` and the
 * audit rows it writes; it reads `user_attributes` without locking and deletes exactly the inbox rows it read.
 */
@Injectable()
export class AttributesRepository {
  constructor(private readonly db: Database) {}

  /** Accounts with waiting attribute changes whose backoff (if any) is over. */
  async dueAccounts(now = Date.now(), limit = 50): Promise<number[]> {
    const rows = await this.db.query<{ account_id: string | number }>(
      `SELECT DISTINCT i.account_id FROM attribute_inbox i
       LEFT JOIN attribute_leases l ON l.account_id = i.account_id
       WHERE i.due_at_ms <= ? AND (l.account_id IS NULL OR (l.next_attempt_at_ms <= ? AND (l.holder IS NULL OR l.expires_at_ms < ?)))
       LIMIT ?`,
      [now, now, now, limit],
    );
    return rows.map((r) => Number(r.account_id)).sort((a, b) => a - b);
  }

  /** Takes the account's lease until `untilMs` unless another worker holds it or its backoff runs: true when taken. */
  async claim(accountId: number, holder: string, untilMs: number, now = Date.now()): Promise<boolean> {
    await this.db.query(
      `INSERT INTO attribute_leases (account_id, holder, expires_at_ms, next_attempt_at_ms, attempts) ` +
        `VALUES (?, NULL, 0, 0, 0) ON CONFLICT (account_id) DO NOTHING`,
      [accountId],
    );
    const { affected } = await this.db.execute(
      `UPDATE attribute_leases SET holder = ?, expires_at_ms = ? ` +
        `WHERE account_id = ? AND next_attempt_at_ms <= ? AND (holder IS NULL OR expires_at_ms < ? OR holder = ?)`,
      [holder, untilMs, accountId, now, now, holder],
    );
    return affected === 1;
  }

  /**
   * The fence before a call: the lease is extended to `untilMs` if `holder` still holds it (even lapsed, when no
   * other worker took it meanwhile). False: another worker has the account, and this one must not send.
   */
  async renew(accountId: number, holder: string, untilMs: number, manager?: EntityManager): Promise<boolean> {
    const { affected } = await this.db.execute(
      `UPDATE attribute_leases SET expires_at_ms = ? WHERE account_id = ? AND holder = ?`,
      [untilMs, accountId, holder],
      manager,
    );
    return affected === 1;
  }

  /** Gives the lease back; a transient failure sets the next attempt and counts it, a success clears the count. */
  async release(accountId: number, holder: string, backoff?: { nextAttemptAtMs: number; error: string }): Promise<void> {
    await this.db.execute(
      backoff
        ? `UPDATE attribute_leases SET holder = NULL, expires_at_ms = 0, next_attempt_at_ms = ?, attempts = attempts + 1, last_error = ? ` +
            `WHERE account_id = ? AND holder = ?`
        : `UPDATE attribute_leases SET holder = NULL, expires_at_ms = 0, next_attempt_at_ms = 0, attempts = 0, last_error = NULL ` +
            `WHERE account_id = ? AND holder = ?`,
      backoff ? [backoff.nextAttemptAtMs, backoff.error.slice(0, 255), accountId, holder] : [accountId, holder],
    );
  }

  /** Transient failures in a row of the account's attribute calls (for the backoff). */
  async attempts(accountId: number): Promise<number> {
    const [row] = await this.db.query<{ attempts: number | string }>(`SELECT attempts FROM attribute_leases WHERE account_id = ?`, [accountId]);
    return Number(row?.attempts ?? 0);
  }

  /**
   * Written before a users/bulkUpdate is sent: an inbox row per user, due at `dueAtMs`. A call answered for good
   * deletes them with its inbox rows (`settle`), one refused before Iterable saw it deletes them (`dropRechecks`);
   * one whose answer never came (a timeout, a reset after sending) or whose worker died keeps them, so the users'
   * newest fields go out again after Iterable applied or dropped the call we gave up on. Answers the rows' ids.
   */
  async scheduleRecheck(accountId: number, userKeys: readonly string[], dueAtMs: number, now = Date.now(), manager?: EntityManager): Promise<number[]> {
    const rows = await this.db.insertRows<{ id: number | string }>(
      'attribute_inbox',
      [
        { name: 'account_id', type: 'bigint' },
        { name: 'user_key', type: 'text' },
        { name: 'created_at_ms', type: 'bigint' },
        { name: 'due_at_ms', type: 'bigint' },
      ],
      userKeys.map((userKey) => [accountId, userKey, now, dueAtMs]),
      'RETURNING id',
      manager,
    );
    return rows.map((r) => Number(r.id));
  }

  /** Which of these users of the account have a stored field. */
  private async withFields(accountId: number, userKeys: readonly string[], manager: EntityManager): Promise<Set<string>> {
    const found = new Set<string>();
    for (let start = 0; start < userKeys.length; start += 500) {
      const chunk = userKeys.slice(start, start + 500);
      const rows = await this.db.query<{ user_key: string }>(
        `SELECT DISTINCT user_key FROM user_attributes WHERE account_id = ? AND user_key IN (${placeholders(chunk)})`,
        [accountId, ...chunk],
        manager,
      );
      for (const r of rows) found.add(r.user_key);
    }
    return found;
  }

  /** Moves recheck rows (`scheduleRecheck`) of a call whose answer never came to `dueAtMs`; answers how many were still there. */
  async postponeRechecks(ids: readonly number[], dueAtMs: number): Promise<number> {
    let moved = 0;
    for (let start = 0; start < ids.length; start += 500) {
      const chunk = ids.slice(start, start + 500);
      moved += (await this.db.execute(`UPDATE attribute_inbox SET due_at_ms = ? WHERE id IN (${placeholders(chunk)})`, [dueAtMs, ...chunk])).affected;
    }
    return moved;
  }

  /** Deletes recheck rows of a call Iterable never received or refused whole (`scheduleRecheck`). */
  async dropRechecks(ids: readonly number[]): Promise<void> {
    for (let start = 0; start < ids.length; start += 500) {
      const chunk = ids.slice(start, start + 500);
      await this.db.execute(`DELETE FROM attribute_inbox WHERE id IN (${placeholders(chunk)})`, chunk);
    }
  }

  /** Which user each of these inbox rows names. */
  async inboxUsers(accountId: number, ids: readonly number[]): Promise<{ id: number; userKey: string }[]> {
    const out: { id: number; userKey: string }[] = [];
    for (let start = 0; start < ids.length; start += 500) {
      const chunk = ids.slice(start, start + 500);
      const rows = await this.db.query<{ id: number | string; user_key: string }>(
        `SELECT id, user_key FROM attribute_inbox WHERE account_id = ? AND id IN (${placeholders(chunk)})`,
        [accountId, ...chunk],
      );
      out.push(...rows.map((r) => ({ id: Number(r.id), userKey: r.user_key })));
    }
    return out;
  }

  /** The account's oldest inbox rows that are due: at most `limit` distinct users. */
  async readInbox(accountId: number, limit: number, now = Date.now()): Promise<AttributeInboxBatch> {
    const rows = await this.db.query<{ id: number | string; user_key: string; created_at_ms: number | string }>(
      `SELECT id, user_key, created_at_ms FROM attribute_inbox WHERE account_id = ? AND due_at_ms <= ? ORDER BY id LIMIT ?`,
      [accountId, now, limit * 4],
    );
    const ids: number[] = [];
    const users = new Set<string>();
    let oldestAtMs = Number.POSITIVE_INFINITY;
    for (const r of rows) {
      if (!users.has(r.user_key) && users.size >= limit) break;
      users.add(r.user_key);
      ids.push(Number(r.id));
      oldestAtMs = Math.min(oldestAtMs, Number(r.created_at_ms));
    }
    return { ids, userKeys: [...users], oldestAtMs };
  }

  /** The newest desired attributes of these users (the identity of their newest row). */
  async usersState(accountId: number, userKeys: readonly string[]): Promise<UserAttributeState[]> {
    const out = new Map<string, UserAttributeState & { atMs: number }>();
    for (let start = 0; start < userKeys.length; start += 500) {
      const chunk = userKeys.slice(start, start + 500);
      const rows = await this.db.query<Record<string, string | number | null>>(
        `SELECT user_key, attribute_key, value, skip_reason, mpid, email, user_id, timestamp_ms FROM user_attributes ` +
          `WHERE account_id = ? AND user_key IN (${placeholders(chunk)}) ORDER BY user_key, attribute_key`,
        [accountId, ...chunk],
      );
      for (const r of rows) {
        const userKey = String(r['user_key']);
        const atMs = Number(r['timestamp_ms']);
        let user = out.get(userKey);
        if (!user) out.set(userKey, (user = { userKey, mpid: null, email: null, userId: null, fields: {}, skipped: [], atMs: Number.NEGATIVE_INFINITY }));
        if (atMs >= user.atMs && (r['email'] !== null || user.email === null)) {
          user.atMs = atMs;
          user.email = r['email'] === null ? null : String(r['email']);
          user.userId = r['user_id'] === null ? null : String(r['user_id']);
          user.mpid = r['mpid'] === null ? user.mpid : String(r['mpid']);
        }
        const key = String(r['attribute_key']);
        if (r['skip_reason'] !== null) user.skipped.push({ key, reason: String(r['skip_reason']) });
        else user.fields[key] = r['value'] === null ? null : JSON.parse(String(r['value']));
      }
    }
    return [...out.values()].map(({ atMs: _atMs, ...user }) => user);
  }

  /**
   * Records one call and its per-user verdicts, and deletes the inbox rows it answered, in one transaction. Users
   * recorded without a call (nothing sendable) go under a call row of 0 users and no status. With `lease`, fenced:
   * the rows are deleted only while `holder` still holds the account (extended to `untilMs`); answers whether it did.
   */
  async settle(
    call: AttributeCallRecord,
    verdicts: readonly AttributeVerdictRecord[],
    inboxIds: readonly number[],
    lease?: { holder: string; untilMs: number },
  ): Promise<boolean> {
    return this.db.transaction(async (manager) => {
      const ours = lease === undefined || (await this.renew(call.accountId, lease.holder, lease.untilMs, manager));
      // Another worker took the account while this call was out: what it sent may be older than what that worker
      // sent, so its rows (and the rechecks among them) stay and the users' newest fields go out again. That worker
      // may have used them already (a pause past the rechecks' due time), so each user gets one more, due now. A user
      // an erasure purged meanwhile (no stored field left) is not named again, in a verdict or a recheck.
      const users = ours ? undefined : await this.withFields(call.accountId, [...new Set(verdicts.map((v) => v.userKey))].sort(), manager);
      await insertCallAndVerdicts(
        this.db,
        manager,
        { ...call, listId: 0, action: ATTRIBUTE_CALL_ACTION, subscriberCount: call.userCount },
        verdicts
          .filter((v) => users === undefined || users.has(v.userKey))
          .map((v) => ({ ...v, accountId: call.accountId, audienceId: 0, action: ATTRIBUTE_VERDICT_ACTION })),
      );
      if (users !== undefined) {
        if (users.size > 0) await this.scheduleRecheck(call.accountId, [...users].sort(), Date.now(), Date.now(), manager);
        return false;
      }
      for (let start = 0; start < inboxIds.length; start += 500) {
        const chunk = inboxIds.slice(start, start + 500);
        await this.db.execute(`DELETE FROM attribute_inbox WHERE id IN (${placeholders(chunk)})`, chunk, manager);
      }
      return true;
    });
  }
}
