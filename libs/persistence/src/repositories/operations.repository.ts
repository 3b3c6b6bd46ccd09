import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Database } from '../database';
import type { ListMemberState } from '../entities';
import { recordedVerdict, successVerdict, type RecordedVerdict } from './audit.repository';
import { successesOf, type CallRow } from './audit-rows';
import { busiestSecond, DELIVERY_BUCKET_MS, outcomesSince, perWindowBucket } from './delivery-buckets';
import { inboxBacklog } from './inbox-counts';
import { CALL_BUCKETS, OUTCOME_BUCKETS } from './kept-counts';
import { listMemberCounts } from './list-member-counts';
import { candidatesByKeys, KEYED } from './membership-keys';

/** The two windows the operations console charts: the last hour in minutes, the last day in quarter hours. */
export const SUMMARY_WINDOWS = { hour: { bucketMs: 60_000, buckets: 60 }, day: { bucketMs: 15 * 60_000, buckets: 96 } } as const;
export type SummaryWindow = keyof typeof SUMMARY_WINDOWS;

/** One time bucket of Iterable traffic. */
export interface SummaryBucket {
  /** ISO 8601 start of the bucket (inclusive). */
  start: string;
  /** Members Iterable confirmed added (subscribe calls) and removed (unsubscribe calls). */
  adds: number;
  removes: number;
  /** Members Iterable refused for good (failed verdicts that are not retried). */
  failed: number;
  /** Iterable calls made (dry runs aside), and those not answered 200 (retried with backoff). */
  calls: number;
  failedCalls: number;
  /** Calls recorded but not sent (dry run). */
  dryRunCalls: number;
}

export interface TrafficSummary {
  window: SummaryWindow;
  bucketMs: number;
  from: string;
  to: string;
  buckets: SummaryBucket[];
  totals: Omit<SummaryBucket, 'start'>;
}

/** Iterable calls per second, per account (each account calls with its own API key, the unit of the limit). */
export interface CallRate {
  /** The busiest account's calls over the last 60 s, divided by 60. */
  lastMinutePerSecond: number;
  /** The most calls one account made in one calendar second of the window, and which account. */
  peakPerSecond: number;
  peakAccountId: number | null;
}

export type ConnectionRowStatus = 'active' | 'suspended' | 'removed' | 'dry-run' | 'held';

/** One account → audience → Iterable list, with what happened to it lately and what waits. */
export interface ConnectionRow {
  accountId: number;
  audienceId: number;
  audienceName: string;
  listId: number | null;
  /** removed > suspended (the account or the connection) > held (no list) > dry-run > active. */
  status: ConnectionRowStatus;
  connectionStatus: string;
  accountStatus: string;
  /** Why it is suspended (the connection's reason, else the account's), or why it is held. */
  reason: string | null;
  suspendedBy: 'account' | 'connection' | null;
  dryRun: boolean;
  userIdField: string | null;
  apiKeyLast4: string | null;
  /** When the list last had a call answered 200 (any account feeding it), ISO 8601. */
  lastSuccessAt: string | null;
  /** This audience's members in the last 24 h: added, removed, refused for good. */
  last24h: { adds: number; removes: number; failed: number };
  /** Changes recorded for this audience while it names no list. */
  held: number;
  /** Inbox rows waiting for the list (shared by every audience on it), and the age of the oldest. */
  pending: number;
  oldestPendingAgeMs: number | null;
  /** Members of the list by what Iterable has: `subscribed` now, and `failed` (what a replay would send again). */
  listMembers: number;
  failedMembers: number;
  /** Set while the list backs off after transient failures. */
  failing: { since: string; attempts: number; nextAttemptAt: string | null; lastError: string | null } | null;
}

export interface CallVerdict {
  audienceId: number;
  mpid: string | null;
  userKey: string;
  email: string | null;
  userId: string | null;
  action: string;
  outcome: string;
  reason: string | null;
  retryable: boolean;
}

export interface DeliveryDetail extends Omit<CallRow, 'createdAtMs' | 'error'> {
  time: string;
  /** The call's error with anything key-like masked and cut to 300 characters. */
  errorSample: string | null;
  /** Failed verdicts grouped by reason, most frequent first. */
  failureReasons: { reason: string; count: number }[];
  audienceIds: number[];
  verdicts: CallVerdict[];
  /** More verdicts exist than were returned. */
  verdictsTruncated: boolean;
}

export type UserQuery = { mpid: string } | { email: string } | { customerId: string };

export interface UserMembershipDetail {
  accountId: number;
  audienceId: number;
  audienceName: string | null;
  listId: number | null;
  mpid: string | null;
  userKey: string;
  /** What mParticle wants, by its newest change. */
  desired: { action: 'add' | 'delete'; email: string | null; userId: string | null; skipReason: string | null; timestampMs: number; sourceMessageId: string };
  /** What Iterable has for the member on the list (null: never sent). */
  iterable: { state: ListMemberState; email: string; userId: string | null; reason: string | null; updatedAt: string } | null;
  /** `held` (no list), `pending` (an inbox row waits), else what Iterable has, `none` if never sent. */
  state: 'pending' | ListMemberState | 'none' | 'held';
  history: RecordedVerdict[];
}

type Row = Record<string, string | number | boolean | null>;
const num = (v: unknown): number => Number(v ?? 0);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const bool = (v: unknown): boolean => v === true || Number(v) === 1;
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/**
 * Masks what could be a secret in an error text before an operator's screen shows it: values after
 * key-like names, bearer credentials, and any run of 20 or more letters and digits (API keys are such runs;
 * the Iterable client already redacts the key, this is a second guard). Cut to 300 characters.
 */
export function redactErrorSample(error: string | null): string | null {
  if (error === null) return null;
  const masked = error
    .replace(/((?:api[_-]?key|token|authorization|secret|password)["']?\s*[:=]\s*["']?)(?:(?:bearer|token)\s+)?[^\s"',}]+/gi, '$1***')
    .replace(/(bearer|token)\s+[^\s"',}]+/gi, '$1 ***')
    .replace(/[A-Za-z0-9_-]{20,}/g, (run) => (/^[0-9a-f-]{36}$/i.test(run) ? run : `${run.slice(0, 2)}***`));
  return masked.length > 300 ? `${masked.slice(0, 299)}…` : masked;
}

/** Read-only queries for the operations console: traffic over time, connections with their figures, a call, a user. */
/**
 * When each connected list last had a successful call (not a dry run), from its connections' accounts: one descent of
 * `delivery_calls_last_success` per connection. Taking the newest success of every call read the 30 days of calls
 * whole (500,000 calls: 160 - 245 ms, bench:size). On PostgreSQL the descent is asked as a range of the whole key, to
 * the newest success at or before the end of the connection's (account, list) range (a row of another range means
 * none): asked with an equal account and list, PostgreSQL walked the time index back instead, through every newer
 * call of other lists. SQLite, without statistics, takes the equal form to the index.
 */
export async function lastSuccesses(db: Database, manager?: EntityManager): Promise<{ listId: number; atMs: number | null }[]> {
  const newest =
    db.driver === 'postgres'
      ? `SELECT CASE WHEN d.account_id = c.account_id AND d.list_id = c.list_id THEN d.created_at_ms END FROM delivery_calls d
         WHERE http_status = 200 AND NOT dry_run AND (d.account_id, d.list_id, d.created_at_ms) <= (c.account_id, c.list_id, ${Number.MAX_SAFE_INTEGER})
         ORDER BY d.account_id DESC, d.list_id DESC, d.created_at_ms DESC LIMIT 1`
      : `SELECT d.created_at_ms FROM delivery_calls d
         WHERE d.account_id = c.account_id AND d.list_id = c.list_id AND http_status = 200 AND NOT dry_run ORDER BY d.created_at_ms DESC LIMIT 1`;
  const rows = await db.query<Row>(
    `SELECT list_id, MAX(t) AS t FROM (
       SELECT c.list_id, (${newest}) AS t FROM (SELECT DISTINCT account_id, list_id FROM audience_connections WHERE list_id IS NOT NULL) c
     ) x GROUP BY list_id`,
    [],
    manager,
  );
  return rows.map((r) => ({ listId: num(r['list_id']), atMs: numOrNull(r['t']) }));
}

@Injectable()
export class OperationsRepository {
  constructor(private readonly db: Database) {}

  /**
   * Iterable traffic in time buckets over the window ending now (the last bucket is the current, partial one). The day
   * window reads the quarter hours' kept figures (delivery-buckets.ts), a few rows per bucket however much traffic;
   * the hour window's minutes read the hour of audit.
   */
  async summary(window: SummaryWindow, now = Date.now()): Promise<TrafficSummary> {
    const { bucketMs, buckets: count } = SUMMARY_WINDOWS[window];
    const to = Math.ceil((now + 1) / bucketMs) * bucketMs;
    const from = to - count * bucketMs;
    const { calls, failed } = bucketMs % DELIVERY_BUCKET_MS === 0 ? await this.keptTraffic(from, to, bucketMs) : await this.countedTraffic(from, to, bucketMs);
    const buckets: SummaryBucket[] = Array.from({ length: count }, (_, i) => ({
      start: new Date(from + i * bucketMs).toISOString(),
      adds: 0,
      removes: 0,
      failed: 0,
      calls: 0,
      failedCalls: 0,
      dryRunCalls: 0,
    }));
    for (const r of calls) {
      const bucket = buckets[num(r['b'])];
      if (!bucket) continue;
      Object.assign(bucket, {
        calls: num(r['calls']),
        failedCalls: num(r['failed_calls']),
        adds: num(r['adds']),
        removes: num(r['removes']),
        dryRunCalls: num(r['dry_run_calls']),
      });
    }
    for (const r of failed) {
      const bucket = buckets[num(r['b'])];
      if (bucket) bucket.failed = num(r['n']);
    }
    const totals = { adds: 0, removes: 0, failed: 0, calls: 0, failedCalls: 0, dryRunCalls: 0 };
    for (const b of buckets) for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += b[k];
    return { window, bucketMs, from: new Date(from).toISOString(), to: new Date(to).toISOString(), buckets, totals };
  }

  /** The window's traffic by bucket (`b`, from 0) from the kept quarter hours. */
  private async keptTraffic(from: number, to: number, bucketMs: number): Promise<{ calls: Row[]; failed: Row[] }> {
    const calls = perWindowBucket(
      CALL_BUCKETS,
      'SUM(calls) AS calls, SUM(failed_calls) AS failed_calls, SUM(adds) AS adds, SUM(removes) AS removes, SUM(dry_run_calls) AS dry_run_calls',
      from,
      to,
      bucketMs,
    );
    const failed = perWindowBucket(OUTCOME_BUCKETS, 'SUM(failed) AS n', from, to, bucketMs);
    const [callRows, failedRows] = await Promise.all([this.db.query<Row>(calls.sql, calls.params), this.db.query<Row>(failed.sql, failed.params)]);
    return { calls: callRows, failed: failedRows };
  }

  /** The window's traffic by bucket (`b`, from 0), counted from the audit rows. */
  private async countedTraffic(from: number, to: number, bucketMs: number): Promise<{ calls: Row[]; failed: Row[] }> {
    const [calls, failed] = await Promise.all([
      this.db.query<Row>(
        `SELECT CAST((created_at_ms - ?) / ? AS INTEGER) AS b,
                SUM(CASE WHEN dry_run = ? THEN 1 ELSE 0 END) AS calls,
                SUM(CASE WHEN dry_run = ? AND (http_status IS NULL OR http_status <> 200) THEN 1 ELSE 0 END) AS failed_calls,
                SUM(CASE WHEN dry_run = ? AND action = 'subscribe' THEN success_count ELSE 0 END) AS adds,
                SUM(CASE WHEN dry_run = ? AND action = 'unsubscribe' THEN success_count ELSE 0 END) AS removes,
                SUM(CASE WHEN dry_run = ? THEN 1 ELSE 0 END) AS dry_run_calls
         FROM delivery_calls WHERE created_at_ms >= ? AND created_at_ms < ? GROUP BY b`,
        [from, bucketMs, false, false, false, false, true, from, to],
      ),
      this.db.query<Row>(
        `SELECT CAST((created_at_ms - ?) / ? AS INTEGER) AS b, COUNT(*) AS n FROM delivery_verdicts
         WHERE created_at_ms >= ? AND created_at_ms < ? AND outcome = 'failed' AND retryable = ? GROUP BY b`,
        [from, bucketMs, from, to, false],
      ),
    ]);
    return { calls, failed };
  }

  /**
   * Calls per second per account: over the last minute, and the busiest calendar second since `sinceMs` (whole
   * seconds from it; kept per second and quarter hour, delivery-buckets.ts, so a day's window reads a few rows).
   */
  async callRate(sinceMs: number, now = Date.now()): Promise<CallRate> {
    const [minute, peak] = await Promise.all([
      this.db.query<Row>(`SELECT account_id, COUNT(*) AS n FROM delivery_calls WHERE dry_run = ? AND created_at_ms >= ? GROUP BY account_id`, [
        false,
        now - 60_000,
      ]),
      busiestSecond(this.db, sinceMs),
    ]);
    const busiest = Math.max(0, ...minute.map((r) => num(r['n'])));
    return {
      lastMinutePerSecond: Math.round((busiest / 60) * 100) / 100,
      peakPerSecond: peak?.calls ?? 0,
      peakAccountId: peak?.accountId ?? null,
    };
  }

  /** Every connection with its status, last success, 24 h figures, what waits and what is held. */
  async connections(now = Date.now()): Promise<ConnectionRow[]> {
    const since = now - 86_400_000;
    const whole = Math.ceil(since / DELIVERY_BUCKET_MS) * DELIVERY_BUCKET_MS;
    const kept = outcomesSince(whole);
    const [rows, inbox, leases, members, day, lastSuccess, held] = await Promise.all([
      this.db.query<Row>(
        `SELECT c.account_id, c.audience_id, c.audience_name, c.list_id, c.status, c.suspended_reason,
                a.status AS account_status, a.suspended_reason AS account_reason, a.dry_run, a.user_id_field, a.api_key_last4
         FROM audience_connections c LEFT JOIN accounts a ON a.account_id = c.account_id
         ORDER BY c.account_id, c.audience_id`,
      ),
      inboxBacklog(this.db),
      this.db.query<Row>(`SELECT list_id, failing_since, attempts, next_attempt_at, last_error FROM list_leases WHERE failing_since IS NOT NULL`),
      listMemberCounts(this.db),
      // The whole quarter hours of the last 24 h from their kept figures; the part of one before them from the audit
      // (simple deliveries from the compact rows, the rest per user).
      this.db.query<Row>(
        `SELECT account_id, audience_id, list_id, SUM(adds) AS adds, SUM(removes) AS removes, SUM(failed) AS failed FROM (
           ${kept.sql}
           UNION ALL
           SELECT account_id, audience_id, list_id,
                  SUM(CASE WHEN outcome = 'delivered' AND action = 'add' THEN 1 ELSE 0 END) AS adds,
                  SUM(CASE WHEN outcome = 'delivered' AND action = 'delete' THEN 1 ELSE 0 END) AS removes,
                  SUM(CASE WHEN outcome = 'failed' AND retryable = ? THEN 1 ELSE 0 END) AS failed
           FROM delivery_verdicts WHERE created_at_ms >= ? AND created_at_ms < ? GROUP BY account_id, audience_id, list_id
           UNION ALL
           SELECT account_id, audience_id, list_id,
                  SUM(CASE WHEN action = 'add' THEN n ELSE 0 END) AS adds,
                  SUM(CASE WHEN action = 'delete' THEN n ELSE 0 END) AS removes,
                  0 AS failed
           FROM delivery_successes WHERE created_at_ms >= ? AND created_at_ms < ? GROUP BY account_id, audience_id, list_id
         ) d GROUP BY account_id, audience_id, list_id`,
        [...kept.params, false, since, whole, since, whole],
      ),
      lastSuccesses(this.db),
      this.db.query<Row>(
        `SELECT m.account_id, m.audience_id, COUNT(*) AS n FROM memberships m
         JOIN audience_connections c ON c.account_id = m.account_id AND c.audience_id = m.audience_id
         WHERE c.list_id IS NULL GROUP BY m.account_id, m.audience_id`,
      ),
    ]);
    const byList = <T>(list: Row[], f: (r: Row) => T) => new Map(list.map((r) => [num(r['list_id']), f(r)]));
    const pending = new Map(inbox.map((r) => [r.listId, { n: r.n, oldest: r.oldestMs }]));
    const failing = byList(leases, (r) => ({
      since: iso(numOrNull(r['failing_since'])) as string,
      attempts: num(r['attempts']),
      nextAttemptAt: iso(numOrNull(r['next_attempt_at'])),
      lastError: redactErrorSample(str(r['last_error'])),
    }));
    const success = new Map(lastSuccess.map((r) => [r.listId, r.atMs]));
    const memberCounts = new Map<string, number>(members.map((r) => [`${r.listId}|${r.state}`, r.n]));
    const dayCounts = new Map(day.map((r) => [`${num(r['account_id'])}|${num(r['audience_id'])}|${num(r['list_id'])}`, r]));
    const heldCounts = new Map(held.map((r) => [`${num(r['account_id'])}|${num(r['audience_id'])}`, num(r['n'])]));

    return rows.map((r) => {
      const accountId = num(r['account_id']);
      const audienceId = num(r['audience_id']);
      const listId = numOrNull(r['list_id']);
      const connectionStatus = String(r['status']);
      const accountStatus = r['account_status'] === null ? 'unknown' : String(r['account_status']);
      const dryRun = bool(r['dry_run']);
      const suspendedBy = connectionStatus === 'suspended' ? 'connection' : accountStatus === 'suspended' ? 'account' : null;
      const status: ConnectionRowStatus =
        connectionStatus === 'removed' ? 'removed' : suspendedBy ? 'suspended' : listId === null ? 'held' : dryRun ? 'dry-run' : 'active';
      const reason =
        suspendedBy === 'connection'
          ? str(r['suspended_reason'])
          : suspendedBy === 'account'
            ? str(r['account_reason'])
            : listId === null
              ? (str(r['suspended_reason']) ?? 'the audience names no Iterable list')
              : null;
      const d = listId === null ? undefined : dayCounts.get(`${accountId}|${audienceId}|${listId}`);
      const p = listId === null ? undefined : pending.get(listId);
      return {
        accountId,
        audienceId,
        audienceName: String(r['audience_name'] ?? ''),
        listId,
        status,
        connectionStatus,
        accountStatus,
        reason,
        suspendedBy,
        dryRun,
        userIdField: str(r['user_id_field']),
        apiKeyLast4: str(r['api_key_last4']),
        lastSuccessAt: listId === null ? null : iso(success.get(listId) ?? null),
        last24h: { adds: num(d?.['adds']), removes: num(d?.['removes']), failed: num(d?.['failed']) },
        held: heldCounts.get(`${accountId}|${audienceId}`) ?? 0,
        pending: p?.n ?? 0,
        oldestPendingAgeMs: p?.oldest === null || p?.oldest === undefined ? null : Math.max(0, now - p.oldest),
        listMembers: listId === null ? 0 : (memberCounts.get(`${listId}|subscribed`) ?? 0),
        failedMembers: listId === null ? 0 : (memberCounts.get(`${listId}|failed`) ?? 0),
        failing: listId === null ? null : (failing.get(listId) ?? null),
      };
    });
  }

  /** One Iterable call with its per-user verdicts (at most `limit`); undefined when there is no such call. */
  async delivery(id: string, limit = 1000): Promise<DeliveryDetail | undefined> {
    const [call] = await this.db.query<Row>(`SELECT * FROM delivery_calls WHERE id = ?`, [id]);
    if (!call) return undefined;
    const [whole, compact, reasons] = await Promise.all([
      this.db.query<Row>(
        `SELECT audience_id, mpid, user_key, email, user_id, action, outcome, reason, retryable FROM delivery_verdicts WHERE call_id = ? ORDER BY id LIMIT ?`,
        [id, limit + 1],
      ),
      this.db.query<Row>(`SELECT audience_id, action, user_keys FROM delivery_successes WHERE call_id = ? ORDER BY id`, [id]),
      this.db.query<Row>(
        `SELECT reason, COUNT(*) AS n FROM delivery_verdicts WHERE call_id = ? AND outcome = 'failed' GROUP BY reason ORDER BY COUNT(*) DESC`,
        [id],
      ),
    ]);
    // What did not simply succeed first, then the simple deliveries (whose rows hold keys only; an mpid is its key).
    const simple: Row[] = compact.flatMap((c) =>
      (JSON.parse(String(c['user_keys'])) as string[]).map((key) => ({
        audience_id: c['audience_id'],
        mpid: /^-?\d+$/.test(key) ? key : null,
        user_key: key,
        email: null,
        user_id: null,
        action: c['action'],
        outcome: 'delivered',
        reason: null,
        retryable: false,
      })),
    );
    const rows = [...whole, ...simple];
    const verdicts = rows.slice(0, limit).map((v) => ({
      audienceId: num(v['audience_id']),
      mpid: str(v['mpid']),
      userKey: String(v['user_key']),
      email: str(v['email']),
      userId: str(v['user_id']),
      action: String(v['action']),
      outcome: String(v['outcome']),
      reason: str(v['reason']),
      retryable: bool(v['retryable']),
    }));
    return {
      id: String(call['id']),
      time: new Date(num(call['created_at_ms'])).toISOString(),
      accountId: num(call['account_id']),
      listId: num(call['list_id']),
      action: String(call['action']),
      subscriberCount: num(call['subscriber_count']),
      httpStatus: numOrNull(call['http_status']),
      successCount: num(call['success_count']),
      failureCount: num(call['failure_count']),
      durationMs: num(call['duration_ms']),
      dryRun: bool(call['dry_run']),
      errorSample: redactErrorSample(str(call['error'])),
      failureReasons: reasons.map((r) => ({ reason: str(r['reason']) ?? 'unknown', count: num(r['n']) })),
      audienceIds: [...new Set(verdicts.map((v) => v.audienceId))].sort((a, b) => a - b),
      verdicts,
      verdictsTruncated: rows.length > limit,
    };
  }

  /**
   * A user's memberships found by mpid, by email (the normalized member key) or by customer id (the userId of
   * Customer ID accounts, or the key of a profile mParticle sent without an mpid), each with what mParticle
   * wants, what Iterable has and the verdicts recorded for the user on that audience, newest first.
   */
  async findUsers(query: UserQuery, limit = 100): Promise<UserMembershipDetail[]> {
    // The candidates' keys, then the condition they must meet. A user with an mpid is keyed by it (userKeyOf); the
    // lookups by key probe the primary key once per connection (membership-keys.ts).
    const email = 'email' in query ? query.email.trim().toLowerCase() : '';
    const customerKey = 'customerId' in query ? `customer:${query.customerId}` : '';
    const [candidates, condition, params] =
      'mpid' in query
        ? [candidatesByKeys(1), 'm.mpid = ?', [query.mpid, query.mpid]]
        : 'email' in query
          ? [`SELECT account_id, audience_id, user_key FROM memberships WHERE email = ?`, 'm.email = ?', [email, email]]
          : [
              // The userId index holds the rows whose userId is not their key; a customer id that is its row's key
              // (an mpid equal to it, or the key of a profile without one) is probed by key.
              `SELECT account_id, audience_id, user_key FROM memberships WHERE user_id = ? AND user_id <> user_key UNION ${candidatesByKeys(2)}`,
              `((m.user_id = ? AND a.user_id_field = 'customerId') OR (m.mpid IS NULL AND m.user_key = ?))`,
              [query.customerId, query.customerId, customerKey, query.customerId, customerKey],
            ];
    const rows = await this.db.query<Row>(
      `SELECT m.account_id, m.audience_id, m.user_key, m.mpid, m.action, m.email, m.user_id, m.skip_reason, m.timestamp_ms, m.source_message_id,
              c.audience_name, c.list_id, lm.state, lm.email AS lm_email, lm.user_id AS lm_user_id, lm.reason AS lm_reason,
              lm.updated_at_ms AS lm_updated_at_ms,
              (SELECT COUNT(*) FROM sync_inbox i WHERE i.list_id = c.list_id AND i.member_key = m.email) AS waiting
       FROM (${candidates}) k CROSS JOIN memberships m
       LEFT JOIN accounts a ON a.account_id = m.account_id
       LEFT JOIN audience_connections c ON c.account_id = m.account_id AND c.audience_id = m.audience_id
       LEFT JOIN list_members lm ON lm.list_id = c.list_id AND lm.member_key = m.email
       WHERE ${KEYED} AND ${condition} ORDER BY m.account_id, m.audience_id, m.user_key LIMIT ?`,
      [...params, limit],
    );
    const mpids = [...new Set(rows.flatMap((r) => (r['mpid'] === null ? [] : [String(r['mpid'])])))];
    const keys = [...new Set(rows.flatMap((r) => (r['mpid'] === null ? [String(r['user_key'])] : [])))];
    const verdictRows = [
      ...(mpids.length ? await this.verdicts(`mpid IN (${mpids.map(() => '?').join(', ')})`, mpids) : []),
      ...(keys.length ? await this.verdicts(`mpid IS NULL AND user_key IN (${keys.map(() => '?').join(', ')})`, keys) : []),
      // A user with an mpid is keyed by it (userKeyOf): the compact rows are read by key either way.
      ...(await successesOf(this.db, [...new Set(rows.map((r) => String(r['user_key'])))], 500)).map((v) => ({ ...successVerdict(v), userKey: v.userKey })),
    ].sort((a, b) => Date.parse(b.time) - Date.parse(a.time));
    return rows.map((r) => {
      const accountId = num(r['account_id']);
      const audienceId = num(r['audience_id']);
      const userKey = String(r['user_key']);
      const listId = numOrNull(r['list_id']);
      const state: UserMembershipDetail['state'] =
        listId === null ? 'held' : num(r['waiting']) > 0 ? 'pending' : r['state'] === null ? 'none' : (String(r['state']) as ListMemberState);
      return {
        accountId,
        audienceId,
        audienceName: str(r['audience_name']),
        listId,
        mpid: str(r['mpid']),
        userKey,
        desired: {
          action: r['action'] === 'add' ? 'add' : 'delete',
          email: str(r['email']),
          userId: str(r['user_id']),
          skipReason: str(r['skip_reason']),
          timestampMs: num(r['timestamp_ms']),
          sourceMessageId: String(r['source_message_id']),
        },
        iterable:
          r['state'] === null || r['state'] === undefined
            ? null
            : {
                state: String(r['state']) as ListMemberState,
                email: String(r['lm_email']),
                userId: str(r['lm_user_id']),
                reason: str(r['lm_reason']),
                updatedAt: new Date(num(r['lm_updated_at_ms'])).toISOString(),
              },
        state,
        history: verdictRows
          .filter((v) => v.accountId === accountId && v.audienceId === audienceId && v.userKey === userKey)
          .map(({ userKey: _key, ...v }) => v),
      };
    });
  }

  private async verdicts(condition: string, params: string[]): Promise<(RecordedVerdict & { userKey: string })[]> {
    const rows = await this.db.query<Row>(
      `SELECT call_id, account_id, audience_id, list_id, user_key, action, outcome, reason, retryable, created_at_ms FROM delivery_verdicts
       WHERE ${condition} ORDER BY created_at_ms DESC, id DESC LIMIT 500`,
      params,
    );
    return rows.map((r) => ({ ...recordedVerdict(r), userKey: String(r['user_key']) }));
  }
}
