import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { UserIdField } from '@audience-bridge/domain';
import { Database } from '../database';
import { appendInbox } from './sync-inbox';
import { placeholders } from './audit-rows';

/** Who to forget, as accepted: raw identities of the request, normalized. */
export interface ErasureSubjectInput {
  email?: string;
  customerId?: string;
}

/** What the worker forgets at Iterable and removes here (kept only while the request is pending). */
export interface ErasureSubjectRecord {
  emails: string[];
  userIds: string[];
  listIds: number[];
}

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
  constructor(private readonly db: Database) {}

  async accept(
    accountId: number,
    subjectRequestId: string,
    subject: ErasureSubjectInput,
    userIdField: UserIdField,
    now = Date.now(),
  ): Promise<{ id: string; created: boolean; listIds: number[] }> {
    return this.db.transaction(async (manager) => {
      const [existing] = await this.db.query<{ id: string }>(
        `SELECT id FROM erasure_requests WHERE account_id = ? AND subject_request_id = ?`,
        [accountId, subjectRequestId],
        manager,
      );
      if (existing) return { id: existing.id, created: false, listIds: [] };

      const keys = [...(subject.email ? [`email:${subject.email}`] : []), ...(subject.customerId ? [`customer:${subject.customerId}`] : [])];
      const conditions = [
        ...(subject.email ? ['m.email = ?', 'm.prev_email = ?'] : []),
        ...(keys.length > 0 ? [`m.user_key IN (${placeholders(keys)})`] : []),
        ...(subject.customerId && userIdField === 'customerId' ? ['m.user_id = ?'] : []),
      ];
      const params = [
        ...(subject.email ? [subject.email, subject.email] : []),
        ...keys,
        ...(subject.customerId && userIdField === 'customerId' ? [subject.customerId] : []),
      ];
      const rows =
        conditions.length === 0
          ? []
          : await this.db.query<{
              audience_id: string | number;
              user_key: string;
              email: string | null;
              prev_email: string | null;
              user_id: string | null;
              mpid: string | null;
            }>(
              `SELECT m.audience_id, m.user_key, m.email, m.prev_email, m.user_id, m.mpid FROM memberships m ` +
                `WHERE m.account_id = ? AND (${conditions.join(' OR ')})`,
              [accountId, ...params],
              manager,
            );
      const emails = unique([subject.email, ...rows.flatMap((r) => [r.email, r.prev_email])]);
      const userIds = unique([subject.customerId && userIdField === 'customerId' ? subject.customerId : undefined, ...rows.map((r) => r.user_id)]);
      const lists = await this.db.query<{ list_id: string | number }>(
        `SELECT DISTINCT list_id FROM audience_connections WHERE account_id = ? AND list_id IS NOT NULL`,
        [accountId],
        manager,
      );
      const listIds = lists.map((l) => Number(l.list_id));

      for (const row of rows) {
        await this.db.execute(
          `DELETE FROM memberships WHERE account_id = ? AND audience_id = ? AND user_key = ?`,
          [accountId, row.audience_id, row.user_key],
          manager,
        );
      }
      // Their forwarded attribute values (README "User attributes") go too, with any send still waiting.
      const attributeKeys = unique([...keys, ...rows.map((r) => r.user_key), ...rows.map((r) => r.mpid)]);
      const attributeWho = [
        ...(attributeKeys.length > 0 ? [`user_key IN (${placeholders(attributeKeys)})`] : []),
        ...(emails.length > 0 ? [`email IN (${placeholders(emails)})`] : []),
        ...(userIds.length > 0 ? [`user_id IN (${placeholders(userIds)})`] : []),
      ];
      if (attributeWho.length > 0) {
        const attributeUsers = await this.db.query<{ user_key: string }>(
          `SELECT DISTINCT user_key FROM user_attributes WHERE account_id = ? AND (${attributeWho.join(' OR ')})`,
          [accountId, ...attributeKeys, ...emails, ...userIds],
          manager,
        );
        const erasedKeys = unique([...attributeKeys, ...attributeUsers.map((u) => u.user_key)]);
        for (const table of erasedKeys.length > 0 ? ['user_attributes', 'attribute_inbox'] : []) {
          await this.db.execute(`DELETE FROM ${table} WHERE account_id = ? AND user_key IN (${placeholders(erasedKeys)})`, [accountId, ...erasedKeys], manager);
        }
      }
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
        [id, accountId, subjectRequestId, JSON.stringify({ emails, userIds, listIds } satisfies ErasureSubjectRecord), rows.length, now, now],
        manager,
      );
      return { id, created: true, listIds };
    });
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

  /** Members of the subject still on their way to Iterable (inbox rows, or a call whose answer is not known yet). */
  async inFlight(subject: ErasureSubjectRecord): Promise<number> {
    if (subject.emails.length === 0 || subject.listIds.length === 0) return 0;
    const [row] = await this.db.query<{ n: string | number }>(
      `SELECT (SELECT COUNT(*) FROM sync_inbox WHERE list_id IN (${placeholders(subject.listIds)}) AND member_key IN (${placeholders(subject.emails)}))
            + (SELECT COUNT(*) FROM list_members WHERE list_id IN (${placeholders(subject.listIds)}) AND member_key IN (${placeholders(subject.emails)})
                 AND (state = 'unknown' OR recheck_at_ms IS NOT NULL)) AS n`,
      [...subject.listIds, ...subject.emails, ...subject.listIds, ...subject.emails],
    );
    return Number(row?.n ?? 0);
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
   * The subject is forgotten at Iterable: remove what delivery kept of them (list members, per-user verdicts)
   * and the identifiers in the request itself, in one transaction.
   */
  async complete(id: string, accountId: number, subject: ErasureSubjectRecord, forgetCalls: number, now = Date.now()): Promise<void> {
    await this.db.transaction(async (manager) => {
      if (subject.emails.length > 0 && subject.listIds.length > 0) {
        await this.db.execute(
          `DELETE FROM list_members WHERE list_id IN (${placeholders(subject.listIds)}) AND member_key IN (${placeholders(subject.emails)})`,
          [...subject.listIds, ...subject.emails],
          manager,
        );
      }
      const who = [
        ...(subject.emails.length > 0 ? [`email IN (${placeholders(subject.emails)})`] : []),
        ...(subject.userIds.length > 0 ? [`user_id IN (${placeholders(subject.userIds)})`] : []),
      ];
      if (who.length > 0) {
        await this.db.execute(
          `DELETE FROM delivery_verdicts WHERE account_id = ? AND (${who.join(' OR ')})`,
          [accountId, ...subject.emails, ...subject.userIds],
          manager,
        );
      }
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
