import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { UserIdField } from '@audience-bridge/domain';
import { erasedIdentity } from '@audience-bridge/mapping';
import { Database } from '../database';
import { appendInbox } from './sync-inbox';
import { forgetSuccesses, forgetVerdicts, placeholders } from './audit-rows';
import { candidatesByKeys, KEYED } from './membership-keys';
import { ApiKeyCipher } from '../crypto/api-key-cipher';

/** Who to forget, as accepted: raw identities of the request, normalized. */
export interface ErasureSubjectInput {
  email?: string;
  customerId?: string;
}

/** Whom a purge looks for among memberships and attributes. */
interface SubjectKeys {
  emails: string[];
  userIds: string[];
  /** User keys (`email:…`, `customer:…`, mpids); absent in requests stored before tombstones. */
  keys?: string[];
}

/** What the worker forgets at Iterable and removes here (kept only while the request is pending). */
export interface ErasureSubjectRecord extends SubjectKeys {
  listIds: number[];
  /** The erasure's `timestamp_ms`; absent in requests stored before tombstones (then the time it was received). */
  erasedAtMs?: number;
}

/** How long an API process trusts "this account has no erased subject" before reading it again. */
export const TOMBSTONE_CACHE_MS = 1000;

export interface PendingErasure {
  id: string;
  accountId: number;
  subject: ErasureSubjectRecord;
  attempts: number;
  receivedAtMs: number;
}

export interface ErasureView {
  id: string;
  accountId: number;
  subjectRequestId: string;
  state: string;
  membershipsRemoved: number;
  forgetCalls: number;
  attempts: number;
  lastError: string | null;
  receivedAtMs: number;
  completedAtMs: number | null;
}

/**
 * Data subject erasure (docs/mparticle-firehose.md §1.7). `accept` runs on ingest: in one transaction it
 * stores the request, removes the subject's desired state and signals their lists (so the worker takes
 * them off as for any delete). The worker then forgets them at Iterable and removes what delivery kept of
 * them (`purgeDelivered`), after which the request holds no identifier of the person.
 */
@Injectable()
export class ErasureRepository {
  /** Per account, whether it has any tombstone (once it has, it always has) and when that was read. */
  private readonly tombstonesSeen = new Map<number, { any: boolean; readAtMs: number }>();

  constructor(
    private readonly db: Database,
    private readonly cipher: ApiKeyCipher,
  ) {}

  async accept(
    accountId: number,
    subjectRequestId: string,
    subject: ErasureSubjectInput,
    userIdField: UserIdField,
    erasedAtMs: number,
    now = Date.now(),
  ): Promise<{ id: string; created: boolean; listIds: number[] }> {
    const accepted = await this.db.transaction(async (manager) => {
      const [existing] = await this.db.query<{ id: string }>(
        `SELECT id FROM erasure_requests WHERE account_id = ? AND subject_request_id = ?`,
        [accountId, subjectRequestId],
        manager,
      );
      if (existing) return { id: existing.id, created: false, listIds: [] };

      const who: SubjectKeys = {
        emails: subject.email ? [subject.email] : [],
        keys: [...(subject.email ? [erasedIdentity.email(subject.email)] : []), ...(subject.customerId ? [erasedIdentity.customer(subject.customerId)] : [])],
        userIds: subject.customerId && userIdField === 'customerId' ? [subject.customerId] : [],
      };
      const found = await this.purge(manager, accountId, who, erasedAtMs);
      const emails = unique([...who.emails, ...found.emails]);
      const userIds = unique([...who.userIds, ...found.userIds]);
      const keys = unique([...(who.keys ?? []), ...found.keys]);
      // The tombstone: a keyed hash of every identifier known for them, never the identifier (README "Erasure").
      const identities = unique([
        ...emails.map(erasedIdentity.email),
        ...(subject.customerId ? [erasedIdentity.customer(subject.customerId)] : []),
        ...found.userIds.map(userIdField === 'mpid' ? erasedIdentity.mpid : erasedIdentity.customer),
        ...found.mpids.map(erasedIdentity.mpid),
      ]);
      const hashes = unique(identities.flatMap((identity) => this.cipher.identityHashes(accountId, identity)));
      await this.db.insertRows(
        'erasure_tombstones',
        [
          { name: 'account_id', type: 'bigint' },
          { name: 'identity_hash', type: 'text' },
          { name: 'erased_at_ms', type: 'bigint' },
        ],
        hashes.map((hash) => [accountId, hash, erasedAtMs]),
        'ON CONFLICT (account_id, identity_hash) DO UPDATE SET erased_at_ms = excluded.erased_at_ms ' +
          'WHERE excluded.erased_at_ms > erasure_tombstones.erased_at_ms',
        manager,
      );
      const lists = await this.db.query<{ list_id: string | number }>(
        `SELECT DISTINCT list_id FROM audience_connections WHERE account_id = ? AND list_id IS NOT NULL`,
        [accountId],
        manager,
      );
      const listIds = lists.map((l) => Number(l.list_id));
      // The lists re-plan these members without them: whoever Iterable has on a list is taken off it first.
      await appendInbox(
        this.db,
        listIds.flatMap((listId) => emails.map((email) => ({ listId, email }))),
        manager,
        now,
      );
      const id = randomUUID();
      await this.db.execute(
        `INSERT INTO erasure_requests (id, account_id, subject_request_id, state, subject, memberships_removed, ` +
          `forget_calls, attempts, received_at_ms, next_attempt_at_ms)
         VALUES (?, ?, ?, 'pending', ?, ?, 0, 0, ?, ?)`,
        [
          id,
          accountId,
          subjectRequestId,
          JSON.stringify({ emails, userIds, listIds, keys, erasedAtMs } satisfies ErasureSubjectRecord),
          found.memberships,
          now,
          now,
        ],
        manager,
      );
      return { id, created: true, listIds };
    });
    this.tombstonesSeen.set(accountId, { any: true, readAtMs: Number.POSITIVE_INFINITY });
    return accepted;
  }

  /**
   * Which of `profiles` (users of a message stamped `timestampMs`, each named by `identitiesOf`) name an erased
   * subject whose erasure is not older than the message: their changes are dropped (README "Erasure").
   * An account with no tombstone costs no query and no identity work (known per process, read again within
   * TOMBSTONE_CACHE_MS): this runs for every membership message.
   */
  async erasedProfiles<P>(
    accountId: number,
    profiles: readonly P[],
    identitiesOf: (profile: P) => string[],
    timestampMs: number,
    now = Date.now(),
  ): Promise<boolean[]> {
    if (profiles.length === 0 || !(await this.hasTombstones(accountId, now))) return profiles.map(() => false);
    const hashesOf = profiles.map((profile) => identitiesOf(profile).flatMap((identity) => this.cipher.identityHashes(accountId, identity)));
    if (hashesOf.every((hashes) => hashes.length === 0)) return profiles.map(() => false);
    const all = unique(hashesOf.flat());
    const rows = await this.db.query<{ identity_hash: string; erased_at_ms: string | number }>(
      `SELECT identity_hash, erased_at_ms FROM erasure_tombstones WHERE account_id = ? AND identity_hash IN (${placeholders(all)})`,
      [accountId, ...all],
    );
    const erasedAt = new Map(rows.map((r) => [r.identity_hash, Number(r.erased_at_ms)]));
    return hashesOf.map((hashes) => hashes.some((hash) => (erasedAt.get(hash) ?? Number.NEGATIVE_INFINITY) >= timestampMs));
  }

  private async hasTombstones(accountId: number, now: number): Promise<boolean> {
    const seen = this.tombstonesSeen.get(accountId);
    if (seen?.any || (seen && now - seen.readAtMs < TOMBSTONE_CACHE_MS)) return seen.any;
    const [row] = await this.db.query<{ one: number }>(`SELECT 1 AS one FROM erasure_tombstones WHERE account_id = ? LIMIT 1`, [accountId]);
    this.tombstonesSeen.set(accountId, { any: row !== undefined, readAtMs: now });
    return row !== undefined;
  }

  /**
   * Changes of the subject stamped at or before the erasure that were stored after it was accepted (by an API
   * process that had not seen the tombstone yet): removed again, their lists signalled. Answers how many.
   */
  async purgeLate(erasure: PendingErasure, now = Date.now()): Promise<number> {
    const { subject } = erasure;
    return this.db.transaction(async (manager) => {
      const found = await this.purge(manager, erasure.accountId, subject, subject.erasedAtMs ?? erasure.receivedAtMs);
      if (found.memberships + found.attributeUsers > 0) {
        const emails = unique([...subject.emails, ...found.emails]);
        // The lists of now, not only those of the acceptance: the change may have moved its audience to a new list.
        const listIds = await this.subjectLists(erasure.accountId, subject, manager);
        await appendInbox(
          this.db,
          listIds.flatMap((listId) => emails.map((email) => ({ listId, email }))),
          manager,
          now,
        );
      }
      return found.memberships + found.attributeUsers;
    });
  }

  /**
   * Removes the desired state (memberships stamped up to `upToMs`, the erasure's time) and the forwarded
   * attributes (also up to it) of whoever `who` names, and says who they turned out to be (emails, userIds, keys
   * and mpids of the rows) and how many rows went. A change stamped after the erasure is a new consent: kept.
   */
  private async purge(
    manager: EntityManager,
    accountId: number,
    who: SubjectKeys,
    upToMs: number,
  ): Promise<{ memberships: number; attributeUsers: number; emails: string[]; userIds: string[]; keys: string[]; mpids: string[] }> {
    const keys = who.keys ?? [];
    const conditions = [
      ...(who.emails.length > 0 ? [`m.email IN (${placeholders(who.emails)})`, `m.prev_email IN (${placeholders(who.emails)})`] : []),
      ...(keys.length > 0 ? [`m.user_key IN (${placeholders(keys)})`] : []),
      ...(who.userIds.length > 0 ? [`m.user_id IN (${placeholders(who.userIds)})`] : []),
    ];
    if (conditions.length === 0) return { memberships: 0, attributeUsers: 0, emails: [], userIds: [], keys: [], mpids: [] };
    // The rows the conditions can match, each through an index (an erasure is answered to mParticle while it waits,
    // and a scan of a 5-million-member account took seconds): by email, by the email before an identity change, by
    // key (the primary key, once per connection of the account), by a userId apart from its key; a userId that is its
    // row's key (an mpid) is probed as a key. The conditions then decide, as they always did. (`+account_id`: SQLite,
    // without statistics, would otherwise read the account's whole primary-key range instead of the narrow index.)
    const probed = unique([...keys, ...who.userIds]);
    const narrow = (where: string, values: string[]) => ({
      sql: `SELECT account_id, audience_id, user_key FROM memberships WHERE ${where} AND +account_id = ?`,
      params: [...values, accountId],
    });
    const candidates = [
      ...(who.emails.length > 0
        ? [narrow(`email IN (${placeholders(who.emails)})`, who.emails), narrow(`prev_email IN (${placeholders(who.emails)})`, who.emails)]
        : []),
      ...(who.userIds.length > 0 ? [narrow(`user_id IN (${placeholders(who.userIds)}) AND user_id <> user_key`, who.userIds)] : []),
      ...(probed.length > 0 ? [{ sql: candidatesByKeys(probed.length, { inAccount: true }), params: [...probed, accountId] }] : []),
    ];
    const rows = await this.db.query<{
      audience_id: string | number;
      user_key: string;
      email: string | null;
      prev_email: string | null;
      user_id: string | null;
      mpid: string | null;
    }>(
      `SELECT m.audience_id, m.user_key, m.email, m.prev_email, m.user_id, m.mpid ` +
        `FROM (${candidates.map((c) => c.sql).join(' UNION ')}) k CROSS JOIN memberships m ` +
        `WHERE ${KEYED} AND m.account_id = ? AND (${conditions.join(' OR ')}) AND m.timestamp_ms <= ?`,
      [...candidates.flatMap((c) => c.params), accountId, ...who.emails, ...who.emails, ...keys, ...who.userIds, upToMs],
      manager,
    );
    for (const row of rows) {
      await this.db.execute(
        `DELETE FROM memberships WHERE account_id = ? AND audience_id = ? AND user_key = ?`,
        [accountId, row.audience_id, row.user_key],
        manager,
      );
    }
    const emails = unique(rows.flatMap((r) => [r.email, r.prev_email]));
    const userIds = unique(rows.map((r) => r.user_id));
    const mpids = unique(rows.map((r) => r.mpid));
    // Their forwarded attribute values (README "User attributes") go too, with any send still waiting.
    const attributeKeys = unique([...keys, ...rows.map((r) => r.user_key), ...mpids]);
    const allEmails = unique([...who.emails, ...emails]);
    const allUserIds = unique([...who.userIds, ...userIds]);
    const attributeUsers = await attributeSubjectKeys(this.db, accountId, { keys: attributeKeys, emails: allEmails, userIds: allUserIds }, upToMs, manager);
    const erasedKeys = unique([...attributeKeys, ...attributeUsers]);
    if (erasedKeys.length > 0) {
      const inKeys = `user_key IN (${placeholders(erasedKeys)})`;
      await this.db.execute(
        `DELETE FROM user_attributes WHERE account_id = ? AND ${inKeys} AND timestamp_ms <= ?`,
        [accountId, ...erasedKeys, upToMs],
        manager,
      );
      // A send still waiting goes too, unless a value stamped after the erasure (a new consent) is left to send.
      await this.db.execute(
        `DELETE FROM attribute_inbox WHERE account_id = ? AND ${inKeys} AND NOT EXISTS ` +
          `(SELECT 1 FROM user_attributes ua WHERE ua.account_id = attribute_inbox.account_id AND ua.user_key = attribute_inbox.user_key)`,
        [accountId, ...erasedKeys],
        manager,
      );
    }
    return { memberships: rows.length, attributeUsers: attributeUsers.length, emails, userIds, keys: unique(rows.map((r) => r.user_key)), mpids };
  }

  /** Pending requests whose next attempt is due, oldest first. */
  async due(limit = 100, now = Date.now()): Promise<PendingErasure[]> {
    const rows = await this.db.query<{ id: string; account_id: string | number; subject: string; attempts: number | string; received_at_ms: string | number }>(
      `SELECT id, account_id, subject, attempts, received_at_ms FROM erasure_requests WHERE state = 'pending' AND next_attempt_at_ms <= ? ` +
        `ORDER BY received_at_ms LIMIT ?`,
      [now, limit],
    );
    return rows.map(toPending);
  }

  /** One pending request, whether due or not (undefined once done). */
  async pending(id: string): Promise<PendingErasure | undefined> {
    const rows = await this.db.query<{ id: string; account_id: string | number; subject: string; attempts: number | string; received_at_ms: string | number }>(
      `SELECT id, account_id, subject, attempts, received_at_ms FROM erasure_requests WHERE id = ? AND state = 'pending'`,
      [id],
    );
    return rows.map(toPending)[0];
  }

  /** Takes a due request for one try (until `untilMs`): false when another worker took it first. */
  async claim(id: string, untilMs: number, now = Date.now()): Promise<boolean> {
    const { affected } = await this.db.execute(
      `UPDATE erasure_requests SET next_attempt_at_ms = ? WHERE id = ? AND state = 'pending' AND next_attempt_at_ms <= ?`,
      [untilMs, id, now],
    );
    return affected === 1;
  }

  /**
   * The accounts whose lists are in the same Iterable project as `accountId`'s, itself included: those with the same
   * API key (fingerprint) and data center. The subject is forgotten in the project, whichever account's list they are on.
   */
  private async projectAccounts(accountId: number, manager?: EntityManager): Promise<number[]> {
    const rows = await this.db.query<{ account_id: string | number }>(
      `SELECT b.account_id FROM accounts a
       JOIN accounts b ON b.api_key_fingerprint = a.api_key_fingerprint AND b.data_center = a.data_center
       WHERE a.account_id = ? AND a.api_key_fingerprint IS NOT NULL`,
      [accountId],
      manager,
    );
    return [...new Set([accountId, ...rows.map((r) => Number(r.account_id))])];
  }

  /**
   * The lists the subject may be on: those of the connections, when the erasure was accepted and now (an audience
   * moved after the acceptance, by a change an API process stored before it saw the tombstone), of every account of
   * the project, and those such an account delivered last (an audience that moved away leaves its members there).
   */
  private async subjectLists(accountId: number, subject: ErasureSubjectRecord, manager?: EntityManager, accounts?: number[]): Promise<number[]> {
    accounts ??= await this.projectAccounts(accountId, manager);
    const lists = await this.db.query<{ list_id: string | number }>(
      `SELECT list_id FROM audience_connections WHERE account_id IN (${placeholders(accounts)}) AND list_id IS NOT NULL
       UNION SELECT list_id FROM list_leases WHERE account_id IN (${placeholders(accounts)})`,
      [...accounts, ...accounts],
      manager,
    );
    return [...new Set([...subject.listIds, ...lists.map((l) => Number(l.list_id))])];
  }

  /**
   * Whether a member of the subject is still on their way to Iterable: an inbox row, or a call whose answer is not
   * known yet (state unknown or a recheck planned). The inbox is read first: the worker deletes a member's inbox rows
   * in the transaction that records their call's outcome, so a row gone when the inbox is read has its outcome
   * committed by the time `list_members` is read after it (the other order could miss both).
   */
  async inFlight(accountId: number, subject: ErasureSubjectRecord, manager?: EntityManager): Promise<boolean> {
    const listIds = await this.subjectLists(accountId, subject, manager);
    if (subject.emails.length === 0 || listIds.length === 0) return false;
    const emails = new Set(subject.emails);
    for (const listId of listIds) if (await this.waitingInInbox(listId, emails, manager)) return true;
    const [settling] = await this.db.query(
      `SELECT 1 AS one FROM list_members WHERE list_id IN (${placeholders(listIds)}) AND member_key IN (${placeholders(subject.emails)})
         AND (state = 'unknown' OR recheck_at_ms IS NOT NULL) LIMIT 1`,
      [...listIds, ...subject.emails],
      manager,
    );
    return settling !== undefined;
  }

  /**
   * Whether the list's inbox holds a row of one of `emails`, read newest first in growing pages and only until one is
   * found. The rows an erasure appends are at the end of an outage's backlog; counting the subject's rows instead read
   * the whole backlog (2.5 million rows a list, half a second, for every pending erasure every sweep: bench:size), and
   * a filter on the member key lets PostgreSQL choose that scan even when asked for one row.
   */
  private async waitingInInbox(listId: number, emails: ReadonlySet<string>, manager?: EntityManager): Promise<boolean> {
    let below: number | undefined;
    for (let page = 64; ; page = Math.min(page * 4, 4096)) {
      const rows = await this.db.query<{ id: string | number; member_key: string | null }>(
        `SELECT id, member_key FROM sync_inbox WHERE list_id = ?${below === undefined ? '' : ' AND id < ?'} ORDER BY id DESC LIMIT ?`,
        [listId, ...(below === undefined ? [] : [below]), page],
        manager,
      );
      if (rows.some((r) => r.member_key !== null && emails.has(r.member_key))) return true;
      const last = rows[rows.length - 1];
      if (rows.length < page || last === undefined) return false;
      below = Number(last.id);
    }
  }

  /** A try that must be repeated later (Iterable busy or down, or the subject's lists still settling). */
  async retryLater(id: string, error: string, nextAttemptAtMs: number, forgetCalls = 0): Promise<void> {
    await this.db.execute(
      `UPDATE erasure_requests SET attempts = attempts + 1, last_error = ?, next_attempt_at_ms = ?, forget_calls = forget_calls + ? ` +
        `WHERE id = ? AND state = 'pending'`,
      [error.slice(0, 255), nextAttemptAtMs, forgetCalls, id],
    );
  }

  /**
   * The subject is forgotten at Iterable: remove what delivery kept of them (list members, per-user verdicts, their
   * keys in the compact audit)
   * and the identifiers in the request itself, in one transaction.
   */
  async complete(id: string, accountId: number, subject: ErasureSubjectRecord, forgetCalls: number, now = Date.now()): Promise<void> {
    await this.db.transaction(async (manager) => {
      // Every account of the project: another account's list may hold the subject, and its call may have carried them.
      const accounts = await this.projectAccounts(accountId, manager);
      const listIds = await this.subjectLists(accountId, subject, manager, accounts);
      // A delivery that lost one of these lists and settles a late call share-locks the list's lease row before it
      // reads whom the list still knows (delivery.repository.ts): one of the two goes first, so that settlement either
      // sees the purge or writes before it and is purged (PostgreSQL; SQLite has one writer).
      if (this.db.driver === 'postgres' && listIds.length > 0) {
        await this.db.query(
          `SELECT list_id FROM list_leases WHERE list_id IN (${placeholders(listIds)}) ORDER BY list_id FOR UPDATE`,
          [...listIds].sort((a, b) => a - b),
          manager,
        );
      }
      if (subject.emails.length > 0 && listIds.length > 0) {
        await this.db.execute(
          `DELETE FROM list_members WHERE list_id IN (${placeholders(listIds)}) AND member_key IN (${placeholders(subject.emails)})`,
          [...listIds, ...subject.emails],
          manager,
        );
      }
      await forgetVerdicts(this.db, accounts, subject, manager);
      // The compact rows hold user keys only: the subject's keys are what it is found by there.
      for (const account of accounts) await forgetSuccesses(this.db, account, subject.keys ?? [], manager);
      await this.scrubDriftSamples(accountId, [...subject.emails, ...subject.userIds], manager);
      await this.db.execute(
        `UPDATE erasure_requests SET state = 'done', subject = NULL, last_error = NULL, attempts = attempts + 1, forget_calls = forget_calls + ?, ` +
          `completed_at_ms = ? WHERE id = ? AND state = 'pending'`,
        [forgetCalls, now, id],
        manager,
      );
    });
  }

  /** Drift reports keep a sample of the members they found: the subject leaves those samples too. */
  private async scrubDriftSamples(accountId: number, identifiers: string[], manager: EntityManager): Promise<void> {
    if (identifiers.length === 0) return;
    const reports = await this.db.query<{ id: number | string; missing_sample: string | null; extra_sample: string | null }>(
      `SELECT id, missing_sample, extra_sample FROM drift_reports WHERE account_id = ?`,
      [accountId],
      manager,
    );
    const gone = new Set(identifiers);
    const without = (text: string | null): string | null => {
      if (text === null) return null;
      try {
        const values: unknown = JSON.parse(text);
        return Array.isArray(values) ? JSON.stringify(values.filter((v) => !gone.has(String(v)))) : text;
      } catch {
        return text;
      }
    };
    for (const report of reports) {
      const missing = without(report.missing_sample);
      const extra = without(report.extra_sample);
      if (missing === report.missing_sample && extra === report.extra_sample) continue;
      await this.db.execute(`UPDATE drift_reports SET missing_sample = ?, extra_sample = ? WHERE id = ?`, [missing, extra, report.id], manager);
    }
  }

  async byRequest(accountId: number, subjectRequestId: string): Promise<ErasureView | undefined> {
    const [row] = await this.db.query<Record<string, string | number | null>>(
      `SELECT * FROM erasure_requests WHERE account_id = ? AND subject_request_id = ?`,
      [accountId, subjectRequestId],
    );
    if (!row) return undefined;
    return {
      id: String(row['id']),
      accountId: Number(row['account_id']),
      subjectRequestId: String(row['subject_request_id']),
      state: String(row['state']),
      membershipsRemoved: Number(row['memberships_removed']),
      forgetCalls: Number(row['forget_calls']),
      attempts: Number(row['attempts']),
      lastError: row['last_error'] === null ? null : String(row['last_error']),
      receivedAtMs: Number(row['received_at_ms']),
      completedAtMs: row['completed_at_ms'] === null ? null : Number(row['completed_at_ms']),
    };
  }
}

/**
 * The user keys of an account's forwarded attribute values (README "User attributes") that name a subject, stamped up to
 * `upToMs`: by key (the primary key), by email, by userId (each its index). The conditions `OR`ed read every attribute
 * row of the account; an erasure is answered to mParticle only after these are gone.
 */
export async function attributeSubjectKeys(
  db: Database,
  accountId: number,
  who: { keys: readonly string[]; emails: readonly string[]; userIds: readonly string[] },
  upToMs: number,
  manager?: EntityManager,
): Promise<string[]> {
  // A userId that is its row's key (an mpid in mParticle ID mode) is not in the userId index: it is probed as a key,
  // and such a row is theirs only if its userId is that one (another user's key may equal it by chance).
  const keys = unique([...who.keys, ...who.userIds]);
  const named = [
    ...(who.keys.length > 0 ? [`user_key IN (${placeholders(who.keys)})`] : []),
    ...(who.userIds.length > 0 ? [`user_id IN (${placeholders(who.userIds)})`] : []),
  ];
  const reads = [
    ...(keys.length > 0
      ? [
          {
            sql: `account_id = ? AND user_key IN (${placeholders(keys)}) AND (${named.join(' OR ')})`,
            params: [accountId, ...keys, ...who.keys, ...who.userIds],
          },
        ]
      : []),
    ...(who.emails.length > 0 ? [{ sql: `email IN (${placeholders(who.emails)}) AND +account_id = ?`, params: [...who.emails, accountId] }] : []),
    ...(who.userIds.length > 0
      ? [{ sql: `user_id IN (${placeholders(who.userIds)}) AND user_id <> user_key AND +account_id = ?`, params: [...who.userIds, accountId] }]
      : []),
  ];
  if (reads.length === 0) return [];
  const rows = await db.query<{ user_key: string }>(
    reads.map((r) => `SELECT user_key FROM user_attributes WHERE ${r.sql} AND timestamp_ms <= ?`).join(' UNION '),
    reads.flatMap((r) => [...r.params, upToMs]),
    manager,
  );
  return unique(rows.map((r) => r.user_key));
}

function toPending(r: {
  id: string;
  account_id: string | number;
  subject: string;
  attempts: number | string;
  received_at_ms: string | number;
}): PendingErasure {
  return {
    id: r.id,
    accountId: Number(r.account_id),
    subject: JSON.parse(r.subject) as ErasureSubjectRecord,
    attempts: Number(r.attempts),
    receivedAtMs: Number(r.received_at_ms),
  };
}

function unique(values: (string | null | undefined)[]): string[] {
  return [...new Set(values.filter((v): v is string => typeof v === 'string' && v.length > 0))];
}
