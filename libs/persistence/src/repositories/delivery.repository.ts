import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { KnownMember, MemberContribution } from '@audience-bridge/mapping';
import { Database } from '../database';
import { SENT_BY_USER_ID, type ListMemberState } from '../entities';
import { ListLease, ListLeasesRepository } from './list-leases.repository';
import { appendInbox, byMemberKey } from './sync-inbox';
import { foldListMemberCounts } from './list-member-counts';
import { foldMessageCounts } from './message-counts';
import { foldCallCounts } from './call-counts';
import { foldDeliveryBuckets } from './delivery-buckets';
import { foldInboxCounts } from './inbox-counts';
import { CallRow, insertCallAndVerdicts, placeholders, VerdictRow } from './audit-rows';

/** One inbox row as the worker reads it (`email` null: the whole list). */
export interface InboxEntry {
  id: number;
  email: string | null;
  createdAtMs: number;
}

/** An account that can deliver a list: the first active account with a connection to it. */
export interface ListOwner {
  accountId: number;
  /** Some connection to the list is suspended (Iterable said it does not exist): nothing goes out. */
  listSuspended: boolean;
}

/** A list's call to Iterable, as `delivery_calls` records it. */
export interface CallRecord extends CallRow {
  action: 'subscribe' | 'unsubscribe';
}

export interface VerdictRecord extends VerdictRow {
  action: 'add' | 'delete';
  email: string;
  /** The list member the verdict is about (not stored: a settlement that lost the list keeps only members it still knows). */
  memberKey?: string;
}

/** The new `list_members` row of a member (its key is `memberKey`, the identity sent is email/userId). */
export interface MemberWrite {
  memberKey: string;
  email: string;
  userId: string | null;
  state: ListMemberState;
  reason: string | null;
  /** Epoch ms to send the newest state once more; null keeps any recheck already planned. */
  recheckAtMs: number | null;
}

export interface Settlement {
  call?: CallRecord;
  verdicts: VerdictRecord[];
  members: MemberWrite[];
  /** Inbox rows done with. */
  doneInboxIds: number[];
}

const MEMBER_COLUMNS = [
  { name: 'list_id', type: 'bigint' },
  { name: 'member_key', type: 'text' },
  { name: 'email', type: 'text' },
  { name: 'user_id', type: 'text' },
  { name: 'state', type: 'text' },
  { name: 'reason', type: 'text' },
  { name: 'recheck_at_ms', type: 'bigint' },
  { name: 'updated_at_ms', type: 'bigint' },
] as const;

/** Rows per multi-row statement, under both drivers' parameter limits. */
const ROWS_PER_STATEMENT = 500;

/** How many inbox rows one round may fold per member it plans, at most (hot users: the same members again and again). */
export const INBOX_ROWS_PER_MEMBER = 20;

const chunks = <T>(items: readonly T[], size = ROWS_PER_STATEMENT): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

/**
 * The worker's side of the database. It reads desired state (memberships, connections: ingest's rows, never
 * locked by a read), and writes only its own rows: `list_members`, the audit, its lease, and deletions of
 * the inbox rows it read. Every write of a call's settlement happens in one transaction after the call,
 * never across it, in member key order.
 */
@Injectable()
export class DeliveryRepository {
  constructor(
    private readonly db: Database,
    private readonly leases: ListLeasesRepository,
  ) {}

  /**
   * The oldest inbox rows of a list that name at most `members` distinct members (a whole-list marker counts
   * as one), up to `maxRows` rows. Rows of the same member fold into one plan, so when the same users change
   * again and again (many rows, few members) one round takes every row of each member it plans instead of
   * a page of repeats: fuller calls, fewer rounds. Read in pages: the first of `members` rows (under a
   * backlog of distinct members that is all), further ones only while a full page brought too few members.
   * Rows with an id up to `after` are skipped: a delivery that settled every row it read passes the last id
   * it read, so the scan does not step over the deleted rows PostgreSQL has not vacuumed yet.
   */
  async inbox(listId: number, members: number, { after = 0, maxRows = members * INBOX_ROWS_PER_MEMBER } = {}): Promise<InboxEntry[]> {
    const entries: InboxEntry[] = [];
    const seen = new Set<string | null>();
    let page = members;
    while (entries.length < maxRows) {
      const rows = await this.db.query<{ id: number | string; member_key: string | null; created_at_ms: number | string }>(
        `SELECT id, member_key, created_at_ms FROM sync_inbox WHERE list_id = ? AND id > ? ORDER BY id LIMIT ?`,
        [listId, after, Math.min(page, maxRows - entries.length)],
      );
      for (const r of rows) {
        if (!seen.has(r.member_key)) {
          if (seen.size === members) return entries;
          seen.add(r.member_key);
        }
        entries.push({ id: Number(r.id), email: r.member_key, createdAtMs: Number(r.created_at_ms) });
      }
      if (rows.length < page || seen.size === members) return entries;
      after = entries[entries.length - 1]?.id ?? after;
      page = members * 4;
    }
    return entries;
  }

  /**
   * Replaces "the whole list" rows by one row per member to look at: every email of an audience that maps to
   * the list, and every member the list has or may have. Rows keep the oldest marker's time (the lag).
   */
  async expandWholeList(listId: number, markers: InboxEntry[]): Promise<void> {
    const since = Math.min(...markers.map((m) => m.createdAtMs));
    await this.db.transaction(async (manager) => {
      await this.db.query(
        `INSERT INTO sync_inbox (list_id, member_key, created_at_ms)
         SELECT ?, k.member_key, ? FROM (
           SELECT m.email AS member_key FROM memberships m
           JOIN audience_connections c ON c.account_id = m.account_id AND c.audience_id = m.audience_id
           WHERE c.list_id = ? AND m.email IS NOT NULL
           UNION
           SELECT member_key FROM list_members WHERE list_id = ? AND state <> 'unsubscribed'
         ) k`,
        [listId, since, listId, listId],
        manager,
      );
      await this.deleteInbox(
        manager,
        markers.map((m) => m.id),
      );
    });
  }

  /** Who delivers the list: the lowest active account with a connection to it, else the one that delivered it last. */
  async owner(listId: number): Promise<ListOwner | undefined> {
    const rows = await this.db.query<{ account_id: number | string; status: string; account_status: string; has_key: number | boolean }>(
      `SELECT c.account_id, c.status, a.status AS account_status, CASE WHEN a.api_key_ciphertext IS NULL THEN 0 ELSE 1 END AS has_key
       FROM audience_connections c JOIN accounts a ON a.account_id = c.account_id
       WHERE c.list_id = ? ORDER BY c.account_id`,
      [listId],
    );
    const listSuspended = rows.some((r) => r.status === 'suspended');
    const usable = rows.find((r) => r.account_status === 'active' && Number(r.has_key) === 1);
    if (usable) return { accountId: Number(usable.account_id), listSuspended };
    if (rows.length > 0) return undefined;
    const [last] = await this.db.query<{ account_id: number | string | null }>(`SELECT account_id FROM list_leases WHERE list_id = ?`, [listId]);
    if (last?.account_id === null || last?.account_id === undefined) return undefined;
    const [account] = await this.db.query<{ status: string }>(`SELECT status FROM accounts WHERE account_id = ?`, [last.account_id]);
    return account?.status === 'active' ? { accountId: Number(last.account_id), listSuspended: false } : undefined;
  }

  /** Every membership row naming these members through a connection to the list (removed audiences' too). */
  async contributions(listId: number, emails: string[]): Promise<MemberContribution[]> {
    const result: MemberContribution[] = [];
    for (const chunk of chunks(emails)) {
      const rows = await this.db.query<Record<string, string | number | null>>(
        `SELECT m.email, m.account_id, m.audience_id, m.user_key, m.mpid, m.action, m.user_id, m.timestamp_ms, m.source_message_id
         FROM memberships m JOIN audience_connections c ON c.account_id = m.account_id AND c.audience_id = m.audience_id
         WHERE c.list_id = ? AND m.email IN (${placeholders(chunk)})`,
        [listId, ...chunk],
      );
      for (const r of rows) {
        result.push({
          memberKey: String(r['email']),
          accountId: Number(r['account_id']),
          audienceId: Number(r['audience_id']),
          userKey: String(r['user_key']),
          mpid: r['mpid'] === null ? null : String(r['mpid']),
          action: r['action'] === 'add' ? 'add' : 'delete',
          email: String(r['email']),
          userId: r['user_id'] === null ? null : String(r['user_id']),
          timestampMs: Number(r['timestamp_ms']),
          sourceMessageId: String(r['source_message_id']),
        });
      }
    }
    return result;
  }

  /** What we know Iterable has for these members of the list. */
  async known(listId: number, emails: string[]): Promise<Map<string, KnownMember>> {
    const known = new Map<string, KnownMember>();
    for (const chunk of chunks(emails)) {
      const rows = await this.db.query<{ member_key: string; email: string; user_id: string | null; state: KnownMember['state']; reason: string | null }>(
        `SELECT member_key, email, user_id, state, reason FROM list_members WHERE list_id = ? AND member_key IN (${placeholders(chunk)})`,
        [listId, ...chunk],
      );
      for (const r of rows) known.set(r.member_key, { email: r.email, userId: r.user_id, state: r.state, reason: r.reason });
    }
    return known;
  }

  /**
   * Records a call's outcome in one transaction: the fence first, the call and each user's verdict, the members'
   * new state, and the inbox rows done with. A delivery that lost the list records the call, has its members
   * looked at again (`settleLostCall`), and answers false.
   */
  async settle(lease: ListLease, ttlMs: number, s: Settlement, accountId: number | null): Promise<boolean> {
    return this.db.transaction(async (manager) => {
      const ours = await this.leases.fenceSettlement(lease, ttlMs, accountId, manager);
      if (!ours) {
        if (s.call) await this.settleLostCall(manager, lease.listId, accountId, { ...s, call: s.call });
        return false;
      }
      if (s.call) await insertCallAndVerdicts(this.db, manager, s.call, s.verdicts);
      await this.upsertMembers(manager, lease.listId, s.members);
      await this.replanSameUserIds(manager, lease.listId, s.members);
      await this.deleteInbox(manager, s.doneInboxIds);
      return true;
    });
  }

  /**
   * A call that went out after another delivery took the list (this process paused between its last fence check
   * and the call, or the answer came after the lease ran out) may have landed after the new holder's calls, and
   * Iterable keeps whatever arrives last. The new holder's recheck of the call it found in flight waits only the
   * late-apply window, which a pause can outlast. So each member the call changed (or may have changed) is marked
   * unknown and put back in the inbox now, and rechecked no earlier than planned (nor than this call's own late
   * window): if the holder's settlement of an older call overwrites the state, the recheck still sends the newest
   * state once more.
   */
  private async settleLostCall(manager: EntityManager, listId: number, accountId: number | null, s: Settlement & { call: CallRecord }): Promise<void> {
    // A member an erasure purged meanwhile (no state of theirs is left on the list or in the account) is not written
    // back: Iterable has forgotten them, and neither a verdict nor a list member may name them again. The lease row,
    // share-locked, orders this read and an erasure's purge (which locks it for update).
    if (this.db.driver === 'postgres') await this.db.query(`SELECT list_id FROM list_leases WHERE list_id = ? FOR SHARE`, [listId], manager);
    const keys = [...new Set([...s.verdicts.flatMap((v) => (v.memberKey === undefined ? [] : [v.memberKey])), ...s.members.map((m) => m.memberKey)])];
    const kept = await this.stillKnown(manager, listId, accountId, keys);
    await insertCallAndVerdicts(
      this.db,
      manager,
      s.call,
      s.verdicts.filter((v) => v.memberKey === undefined || kept.has(v.memberKey)),
    );
    const members = s.members.filter((m) => kept.has(m.memberKey));
    await this.lookAgainAfterLostFence(manager, listId, members);
    // As for any unsubscribe: by a userId (hybrid and userId-based projects) it took that user off under every email.
    await this.replanSameUserIds(manager, listId, members);
  }

  /** Which of these members the list still has a row of, or the account a membership naming their email. */
  private async stillKnown(manager: EntityManager, listId: number, accountId: number | null, keys: string[]): Promise<Set<string>> {
    const known = new Set<string>();
    for (const chunk of chunks(keys)) {
      const rows = await this.db.query<{ k: string }>(
        `SELECT member_key AS k FROM list_members WHERE list_id = ? AND member_key IN (${placeholders(chunk)})
         UNION SELECT email AS k FROM memberships WHERE account_id = ? AND email IN (${placeholders(chunk)})`,
        [listId, ...chunk, accountId ?? -1, ...chunk],
        manager,
      );
      for (const r of rows) known.add(r.k);
    }
    return known;
  }

  /** Marks the members unknown, rechecked no earlier than planned (nor than their own late window), and puts them back in the inbox. */
  private async lookAgainAfterLostFence(manager: EntityManager, listId: number, members: MemberWrite[]): Promise<void> {
    if (members.length === 0) return;
    const now = Date.now();
    const sorted = [...members].sort(byMemberKey);
    await this.db.insertRows(
      'list_members',
      MEMBER_COLUMNS,
      sorted.map((m) => [listId, m.memberKey, m.email, m.userId, 'unknown', null, m.recheckAtMs ?? now, now]),
      `ON CONFLICT (list_id, member_key) DO UPDATE SET state = 'unknown', updated_at_ms = excluded.updated_at_ms,
         recheck_at_ms = CASE WHEN list_members.recheck_at_ms IS NULL OR list_members.recheck_at_ms < excluded.recheck_at_ms
           THEN excluded.recheck_at_ms ELSE list_members.recheck_at_ms END`,
      manager,
    );
    await appendInbox(
      this.db,
      sorted.map((m) => ({ listId, email: m.memberKey })),
      manager,
    );
  }

  /**
   * In hybrid and userId-based projects the userId names the Iterable user (iterable-api.md §5): unsubscribing a
   * member by it took every other member of the list with that userId (the same user under an email it had
   * before or after) off the list too. Those we thought subscribed are marked unknown and put back in the inbox,
   * so their newest state is sent again (an extra, idempotent call in an email-based project, where they are
   * other users).
   */
  private async replanSameUserIds(manager: EntityManager, listId: number, members: MemberWrite[]): Promise<void> {
    const unsubscribed = members.filter((m) => m.state === 'unsubscribed');
    const userIds = [...new Set(unsubscribed.flatMap((m) => (m.userId ? [m.userId] : [])))].sort();
    // An unsubscribe by email alone took whichever user holds that email: maybe a user that went on the list by its
    // userId after Iterable refused to re-address it, and so still holds an email its member had before.
    const byEmailAlone = unsubscribed.some((m) => !m.userId);
    if (userIds.length === 0 && !byEmailAlone) return;
    const written = new Set(members.map((m) => m.memberKey));
    const others: string[] = [];
    for (const chunk of chunks(userIds, 500)) {
      const rows = await this.db.query<{ member_key: string }>(
        `SELECT member_key FROM list_members WHERE list_id = ? AND user_id IN (${placeholders(chunk)}) AND state = 'subscribed'`,
        [listId, ...chunk],
        manager,
      );
      others.push(...rows.map((r) => r.member_key).filter((key) => !written.has(key)));
    }
    if (byEmailAlone) {
      const rows = await this.db.query<{ member_key: string }>(
        `SELECT member_key FROM list_members WHERE list_id = ? AND reason = ? AND state = 'subscribed'`,
        [listId, SENT_BY_USER_ID],
        manager,
      );
      others.push(...rows.map((r) => r.member_key).filter((key) => !written.has(key) && !others.includes(key)));
    }
    if (others.length === 0) return;
    others.sort();
    for (const chunk of chunks(others, 500)) {
      await this.db.query(
        `UPDATE list_members SET state = 'unknown', updated_at_ms = ? WHERE list_id = ? AND member_key IN (${placeholders(chunk)})`,
        [Date.now(), listId, ...chunk],
        manager,
      );
    }
    await appendInbox(
      this.db,
      others.map((email) => ({ listId, email })),
      manager,
    );
  }

  private async upsertMembers(manager: EntityManager, listId: number, members: MemberWrite[]): Promise<void> {
    const now = Date.now();
    const sorted = [...members].sort(byMemberKey);
    // ever_subscribed: Iterable once confirmed a subscribe we sent (a drift repair unsubscribes only such extras by default); never cleared.
    await this.db.insertRows(
      'list_members',
      [...MEMBER_COLUMNS, { name: 'ever_subscribed', type: 'boolean' }],
      sorted.map((m) => [listId, m.memberKey, m.email, m.userId, m.state, m.reason, m.recheckAtMs, now, m.state === 'subscribed']),
      `ON CONFLICT (list_id, member_key) DO UPDATE SET
         email = excluded.email, user_id = excluded.user_id, state = excluded.state, reason = excluded.reason,
         recheck_at_ms = COALESCE(excluded.recheck_at_ms, list_members.recheck_at_ms), updated_at_ms = excluded.updated_at_ms,
         ever_subscribed = (list_members.ever_subscribed OR excluded.ever_subscribed)`,
      manager,
    );
  }

  private async deleteInbox(manager: EntityManager, ids: number[]): Promise<void> {
    if (ids.length === 0) return;
    if (this.db.driver === 'postgres') {
      // One statement, one array parameter, in id order (the order every settlement locks them in).
      await this.db.query(`DELETE FROM sync_inbox WHERE id = ANY(?::bigint[])`, [[...ids].sort((a, b) => a - b)], manager);
      return;
    }
    for (const chunk of chunks(
      [...ids].sort((a, b) => a - b),
      1000,
    )) {
      await this.db.query(`DELETE FROM sync_inbox WHERE id IN (${placeholders(chunk)})`, chunk, manager);
    }
  }

  /**
   * The members of a call a previous holder of the list died during: their outcome is unknown. They are
   * marked unknown (sent again whatever we thought Iterable had), rechecked after the late-apply window,
   * and put back in the inbox; the lease's record of the call is cleared.
   */
  async recoverInFlight(lease: ListLease, ttlMs: number, memberKeys: string[], recheckAtMs: number): Promise<void> {
    await this.db.transaction(async (manager) => {
      if (!(await this.leases.fence(lease, ttlMs, manager, Date.now(), null))) return;
      // A member never settled before is recorded by its email alone (the identity it was sent with is lost).
      const now = Date.now();
      await this.db.insertRows(
        'list_members',
        MEMBER_COLUMNS,
        [...memberKeys].sort().map((key) => [lease.listId, key, key, null, 'unknown', null, recheckAtMs, now]),
        `ON CONFLICT (list_id, member_key) DO UPDATE SET state = 'unknown', recheck_at_ms = excluded.recheck_at_ms, updated_at_ms = excluded.updated_at_ms`,
        manager,
      );
      await appendInbox(
        this.db,
        memberKeys.map((email) => ({ listId: lease.listId, email })),
        manager,
      );
    });
  }

  /**
   * Members whose late-apply window has passed after an answer we never saw: marked unknown and put back in
   * the inbox, so their newest state is sent once more and a late apply is never the last word.
   */
  async releaseRechecks(listId: number, now = Date.now()): Promise<number> {
    return this.db.transaction(async (manager) => {
      const rows = await this.db.query<{ member_key: string }>(
        `SELECT member_key FROM list_members WHERE list_id = ? AND recheck_at_ms <= ? ORDER BY member_key LIMIT 1000`,
        [listId, now],
        manager,
      );
      const keys = rows.map((r) => r.member_key);
      for (const chunk of chunks(keys)) {
        await this.db.query(
          `UPDATE list_members SET state = 'unknown', recheck_at_ms = NULL WHERE list_id = ? AND member_key IN (${placeholders(chunk)})`,
          [listId, ...chunk],
          manager,
        );
      }
      await appendInbox(
        this.db,
        keys.map((email) => ({ listId, email })),
        manager,
        now,
      );
      return keys.length;
    });
  }

  /** Whether the list has inbox rows, or a recheck due. */
  async hasDue(listId: number, now = Date.now()): Promise<boolean> {
    // One row at most from each side: a list with a backlog of millions answers as fast as one with a single row.
    const rows = await this.db.query(
      `SELECT 1 AS due FROM (SELECT 1 FROM sync_inbox WHERE list_id = ? LIMIT 1) i
       UNION ALL SELECT 1 FROM (SELECT 1 FROM list_members WHERE list_id = ? AND recheck_at_ms <= ? LIMIT 1) r`,
      [listId, listId, now],
    );
    return rows.length > 0;
  }

  /** Lists with inbox rows and no backoff running, or with a recheck due: what the sweeper re-enqueues. */
  async dueLists(now = Date.now()): Promise<number[]> {
    // The lists with inbox rows, one index descent per list (`sync_inbox_by_list`) instead of a read of every
    // waiting row: the sweeper asks every few seconds, and after an outage the inbox holds millions.
    const rows = await this.db.query<{ list_id: number | string }>(
      `WITH RECURSIVE waiting (list_id) AS (
         SELECT MIN(list_id) FROM sync_inbox
         UNION ALL
         SELECT (SELECT MIN(i.list_id) FROM sync_inbox i WHERE i.list_id > w.list_id) FROM waiting w WHERE w.list_id IS NOT NULL
       )
       SELECT w.list_id FROM waiting w LEFT JOIN list_leases l ON l.list_id = w.list_id
       WHERE w.list_id IS NOT NULL AND (l.next_attempt_at IS NULL OR l.next_attempt_at <= ?)
       UNION
       SELECT DISTINCT list_id FROM list_members WHERE recheck_at_ms <= ?`,
      [now, now],
    );
    return rows.map((r) => Number(r.list_id)).sort((a, b) => a - b);
  }

  /**
   * Folds the counts the database kept since the last fold: members into `list_member_counts` (list-member-counts.ts),
   * messages into `message_counts` (message-counts.ts), waiting inbox rows into `inbox_counts` (inbox-counts.ts),
   * Iterable calls into `call_counts` (call-counts.ts), the quarter hours' traffic into `call_buckets` and
   * `outcome_buckets` (delivery-buckets.ts). Answers how many change rows it folded.
   */
  async foldCounts(): Promise<number> {
    return (
      (await foldListMemberCounts(this.db)) +
      (await foldMessageCounts(this.db)) +
      (await foldInboxCounts(this.db)) +
      (await foldCallCounts(this.db)) +
      (await foldDeliveryBuckets(this.db))
    );
  }
}
