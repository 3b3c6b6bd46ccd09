import { Injectable } from '@nestjs/common';
import { Database } from '../database';
import type { DriftIdentifier, DriftRepairExtras, DriftState, DriftTrigger } from '../entities';
import { appendInbox, byMemberKey } from './sync-inbox';

/** The verdict of a check, written when it is done. */
export interface DriftResult {
  iterableMembers: number;
  desiredMembers: number;
  missing: number;
  extra: number;
  repaired: number;
  leftOut: number;
  refused: number;
  missingSample: string[];
  extraSample: string[];
  /** Extra members a repair left on the list because this service never subscribed them (repairExtras `ours`). */
  extraKept?: number;
}

/** A drift check as the API shows it: its result so far (the member counts null until they are known). */
export interface DriftReport extends Omit<DriftResult, 'iterableMembers' | 'desiredMembers' | 'extraKept'> {
  id: number;
  accountId: number;
  listId: number;
  state: DriftState;
  repair: boolean;
  trigger: DriftTrigger;
  identifier: DriftIdentifier;
  /** Which extras a repair unsubscribes; null for a check from before the choice existed (it repaired all). */
  repairExtras: DriftRepairExtras | null;
  extraKept: number;
  requestedAtMs: number;
  startedAtMs: number | null;
  checkedAtMs: number | null;
  finishedAtMs: number | null;
  heartbeatAtMs: number | null;
  phase: string | null;
  iterableMembers: number | null;
  desiredMembers: number | null;
  error: string | null;
}

export interface DriftSettings {
  accountId: number;
  identifier: DriftIdentifier;
  /** null: no schedule. */
  scheduleHours: number | null;
  scheduleRepair: boolean;
  /** Which extra members a repair unsubscribes: `ours` (the default) or `all`. */
  repairExtras: DriftRepairExtras;
  lastScheduledAtMs: number | null;
}

/** A membership row that puts a member on a list (an add with an email), as the compare reads it. */
export interface DesiredRow {
  userKey: string;
  email: string;
  userId: string | null;
  timestampMs: number;
  sourceMessageId: string;
}

/** A `list_members` row that matters to a check: refused for good, or in flight (unknown, a recheck due, settled within the window). */
export interface KnownRow {
  memberKey: string;
  userId: string | null;
  refused: boolean;
  inFlight: boolean;
}

/** A member to repair: marked unknown with the reason "drift repair" and put back in the list's inbox. */
export interface RepairMember {
  memberKey: string;
  email: string;
  userId: string | null;
}

/** A check that runs is taken over when its heartbeat is older than this (its worker died). */
export const DRIFT_STALE_MS = 2 * 60_000;
/** A check asked for and never started for this long is given up (its signal and every re-enqueue were lost). */
export const DRIFT_UNSTARTED_GIVE_UP_MS = 6 * 3_600_000;

const REPORT_COLUMNS = `id, account_id, list_id, state, repair, trigger_kind, identifier, requested_at_ms, started_at_ms, checked_at_ms, finished_at_ms,
  heartbeat_at_ms, phase, iterable_members, desired_members, missing, extra, repaired, left_out, refused, missing_sample, extra_sample, error,
  repair_extras, extra_kept`;

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const sample = (v: unknown): string[] => {
  if (typeof v !== 'string') return [];
  try {
    const parsed: unknown = JSON.parse(v);
    return Array.isArray(parsed) ? parsed.map(String) : [];
  } catch {
    return [];
  }
};

function toReport(r: Record<string, unknown>): DriftReport {
  return {
    id: Number(r['id']),
    accountId: Number(r['account_id']),
    listId: Number(r['list_id']),
    state: r['state'] as DriftState,
    repair: r['repair'] === true || Number(r['repair']) === 1,
    trigger: r['trigger_kind'] as DriftTrigger,
    identifier: r['identifier'] as DriftIdentifier,
    repairExtras: (r['repair_extras'] as DriftRepairExtras | null) ?? null,
    extraKept: Number(r['extra_kept'] ?? 0),
    requestedAtMs: Number(r['requested_at_ms']),
    startedAtMs: num(r['started_at_ms']),
    checkedAtMs: num(r['checked_at_ms']),
    finishedAtMs: num(r['finished_at_ms']),
    heartbeatAtMs: num(r['heartbeat_at_ms']),
    phase: (r['phase'] as string | null) ?? null,
    iterableMembers: num(r['iterable_members']),
    desiredMembers: num(r['desired_members']),
    missing: Number(r['missing']),
    extra: Number(r['extra']),
    repaired: Number(r['repaired']),
    leftOut: Number(r['left_out']),
    refused: Number(r['refused']),
    missingSample: sample(r['missing_sample']),
    extraSample: sample(r['extra_sample']),
    error: (r['error'] as string | null) ?? null,
  };
}

/**
 * Drift checks: their reports and settings (rows of their own), and the reads a check makes of the desired
 * state and of what delivery knows, page by page in index order (bounded memory whatever the list's size;
 * the worker sorts them itself). A repair writes only what delivery writes: `list_members` rows marked
 * unknown and inbox rows, so the differences go out through the normal path.
 */
@Injectable()
export class DriftRepository {
  constructor(private readonly db: Database) {}

  // ---- settings ------------------------------------------------------------------------------

  async settings(accountId: number): Promise<DriftSettings> {
    const [row] = await this.db.query<Record<string, unknown>>(
      `SELECT account_id, identifier, schedule_hours, schedule_repair, repair_extras, last_scheduled_at_ms FROM drift_settings WHERE account_id = ?`,
      [accountId],
    );
    if (!row) return { accountId, identifier: 'email', scheduleHours: null, scheduleRepair: false, repairExtras: 'ours', lastScheduledAtMs: null };
    return {
      accountId,
      identifier: row['identifier'] as DriftIdentifier,
      scheduleHours: num(row['schedule_hours']),
      scheduleRepair: row['schedule_repair'] === true || Number(row['schedule_repair']) === 1,
      repairExtras: row['repair_extras'] === 'all' ? 'all' : 'ours',
      lastScheduledAtMs: num(row['last_scheduled_at_ms']),
    };
  }

  async putSettings(
    accountId: number,
    patch: Partial<Pick<DriftSettings, 'identifier' | 'scheduleHours' | 'scheduleRepair' | 'repairExtras'>>,
    now = Date.now(),
  ): Promise<DriftSettings> {
    const next = { ...(await this.settings(accountId)), ...patch };
    await this.db.query(
      `INSERT INTO drift_settings (account_id, identifier, schedule_hours, schedule_repair, repair_extras, last_scheduled_at_ms, updated_at_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (account_id) DO UPDATE SET identifier = excluded.identifier, schedule_hours = excluded.schedule_hours,
         schedule_repair = excluded.schedule_repair, repair_extras = excluded.repair_extras, updated_at_ms = excluded.updated_at_ms`,
      // A schedule switched on starts counting now: its first checks run one interval later.
      [accountId, next.identifier, next.scheduleHours, next.scheduleRepair, next.repairExtras, next.lastScheduledAtMs ?? now, now],
    );
    return this.settings(accountId);
  }

  /** Accounts whose schedule is due. */
  async dueSchedules(now = Date.now()): Promise<DriftSettings[]> {
    const rows = await this.db.query<Record<string, unknown>>(
      `SELECT account_id FROM drift_settings ` +
        `WHERE schedule_hours IS NOT NULL AND (last_scheduled_at_ms IS NULL OR last_scheduled_at_ms + schedule_hours * 3600000 <= ?)`,
      [now],
    );
    return Promise.all(rows.map((r) => this.settings(Number(r['account_id']))));
  }

  /** Claims a due schedule run for this worker (false when another worker claimed it first). */
  async claimSchedule(accountId: number, previous: number | null, now = Date.now()): Promise<boolean> {
    const { affected } = await this.db.execute(
      `UPDATE drift_settings SET last_scheduled_at_ms = ? ` +
        `WHERE account_id = ? AND ${previous === null ? 'last_scheduled_at_ms IS NULL' : 'last_scheduled_at_ms = ?'}`,
      [now, accountId, ...(previous === null ? [] : [previous])],
    );
    return affected > 0;
  }

  // ---- reports -------------------------------------------------------------------------------

  /** The lists an account feeds (its audiences' connections), for its scheduled checks. */
  async listsOf(accountId: number): Promise<number[]> {
    const rows = await this.db.query<{ list_id: number | string }>(
      `SELECT DISTINCT list_id FROM audience_connections WHERE account_id = ? AND list_id IS NOT NULL AND status <> 'removed' ORDER BY list_id`,
      [accountId],
    );
    return rows.map((r) => Number(r.list_id));
  }

  /** Whether the account has (or had) a connection to the list. */
  async feeds(accountId: number, listId: number): Promise<boolean> {
    const rows = await this.db.query(`SELECT 1 AS x FROM audience_connections WHERE account_id = ? AND list_id = ?`, [accountId, listId]);
    return rows.length > 0;
  }

  /**
   * Asks for a check of the list: a new running report, unless one runs already (then that one, `created:
   * false`). A running report whose worker stopped (stale heartbeat), or never started for hours, is failed first.
   */
  async request(
    input: { accountId: number; listId: number; repair: boolean; trigger: DriftTrigger; identifier: DriftIdentifier; repairExtras?: DriftRepairExtras },
    now = Date.now(),
  ): Promise<{ report: DriftReport; created: boolean }> {
    await this.failAbandoned(input.listId, now);
    const inserted = await this.db.insertRows<{ id: number | string }>(
      'drift_reports',
      [
        { name: 'account_id', type: 'bigint' },
        { name: 'list_id', type: 'bigint' },
        { name: 'state', type: 'text' },
        { name: 'repair', type: 'boolean' },
        { name: 'trigger_kind', type: 'text' },
        { name: 'identifier', type: 'text' },
        { name: 'requested_at_ms', type: 'bigint' },
        { name: 'phase', type: 'text' },
        { name: 'repair_extras', type: 'text' },
      ],
      [[input.accountId, input.listId, 'running', input.repair, input.trigger, input.identifier, now, 'queued', input.repairExtras ?? 'ours']],
      'ON CONFLICT DO NOTHING RETURNING id',
    );
    if (inserted[0]) return { report: (await this.find(Number(inserted[0].id))) as DriftReport, created: true };
    const [running] = await this.db.query<Record<string, unknown>>(`SELECT ${REPORT_COLUMNS} FROM drift_reports WHERE list_id = ? AND state = 'running'`, [
      input.listId,
    ]);
    if (running) return { report: toReport(running), created: false };
    // The running one finished in between: ask again.
    return this.request(input, now);
  }

  private async failAbandoned(listId: number, now: number): Promise<void> {
    await this.db.query(
      `UPDATE drift_reports SET state = 'failed', finished_at_ms = ?, phase = NULL,
         error = CASE WHEN heartbeat_at_ms IS NULL THEN 'never started: the queue lost it' ELSE 'the worker running it stopped' END
       WHERE list_id = ? AND state = 'running' AND ((heartbeat_at_ms IS NULL AND requested_at_ms < ?) OR heartbeat_at_ms < ?)`,
      [now, listId, now - DRIFT_UNSTARTED_GIVE_UP_MS, now - DRIFT_STALE_MS],
    );
  }

  async find(id: number): Promise<DriftReport | undefined> {
    const [row] = await this.db.query<Record<string, unknown>>(`SELECT ${REPORT_COLUMNS} FROM drift_reports WHERE id = ?`, [id]);
    return row ? toReport(row) : undefined;
  }

  /** The newest check of the list asked by (or scheduled for) the account. */
  async latest(accountId: number, listId: number): Promise<DriftReport | undefined> {
    const [row] = await this.db.query<Record<string, unknown>>(
      `SELECT ${REPORT_COLUMNS} FROM drift_reports WHERE list_id = ? AND account_id = ? ORDER BY id DESC LIMIT 1`,
      [listId, accountId],
    );
    return row ? toReport(row) : undefined;
  }

  /** The newest check of each list of the account. */
  async latestPerList(accountId: number): Promise<DriftReport[]> {
    const rows = await this.db.query<Record<string, unknown>>(
      `SELECT ${REPORT_COLUMNS} FROM drift_reports WHERE id IN (SELECT MAX(id) FROM drift_reports WHERE account_id = ? GROUP BY list_id) ORDER BY list_id`,
      [accountId],
    );
    return rows.map(toReport);
  }

  /** The newest finished check of every list (metrics). */
  async latestDone(): Promise<DriftReport[]> {
    const rows = await this.db.query<Record<string, unknown>>(
      `SELECT ${REPORT_COLUMNS} FROM drift_reports WHERE id IN (SELECT MAX(id) FROM drift_reports WHERE state = 'done' GROUP BY list_id) ORDER BY list_id`,
    );
    return rows.map(toReport);
  }

  async runningCount(): Promise<number> {
    const [row] = await this.db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM drift_reports WHERE state = 'running'`);
    return Number(row?.n ?? 0);
  }

  /**
   * Running checks that need a (new) signal: never taken for `unstartedMs` (its job lost with Redis's data, or never
   * added), or taken by a worker whose heartbeat stopped. Signalling one whose job still waits changes nothing (one
   * job id per report), so the wait is short: after a Redis flush a check asked for starts within seconds.
   */
  async orphans(now = Date.now(), unstartedMs = 5_000): Promise<number[]> {
    const rows = await this.db.query<{ id: number | string }>(
      `SELECT id FROM drift_reports WHERE state = 'running' AND ((holder IS NULL AND requested_at_ms < ?) OR heartbeat_at_ms < ?) ORDER BY id LIMIT 100`,
      [now - unstartedMs, now - DRIFT_STALE_MS],
    );
    return rows.map((r) => Number(r.id));
  }

  /**
   * Takes a running check for `holder`: free, its holder's heartbeat stopped, or already `holder`'s (a claim tried
   * again after its answer was lost). Undefined when it is not to run here.
   */
  async claim(id: number, holder: string, now = Date.now()): Promise<DriftReport | undefined> {
    const { affected } = await this.db.execute(
      `UPDATE drift_reports SET holder = ?, heartbeat_at_ms = ?, started_at_ms = ?, phase = 'starting'
       WHERE id = ? AND state = 'running' AND (holder IS NULL OR holder = ? OR heartbeat_at_ms < ?)`,
      [holder, now, now, id, holder, now - DRIFT_STALE_MS],
    );
    return affected > 0 ? this.find(id) : undefined;
  }

  /** The holder is alive (and where it is); false when the check is no longer its own. */
  async heartbeat(id: number, holder: string, phase?: string, now = Date.now()): Promise<boolean> {
    const { affected } = await this.db.execute(
      `UPDATE drift_reports SET heartbeat_at_ms = ?${phase === undefined ? '' : ', phase = ?'} WHERE id = ? AND holder = ? AND state = 'running'`,
      [now, ...(phase === undefined ? [] : [phase]), id, holder],
    );
    return affected > 0;
  }

  /** Gives a check back (its worker is shutting down): another worker's drift sweep signals it again. */
  async release(id: number, holder: string): Promise<void> {
    await this.db.query(
      `UPDATE drift_reports SET holder = NULL, heartbeat_at_ms = NULL, started_at_ms = NULL, checked_at_ms = NULL, phase = 'queued' ` +
        `WHERE id = ? AND holder = ? AND state = 'running'`,
      [id, holder],
    );
  }

  async markChecked(id: number, holder: string, checkedAtMs: number): Promise<void> {
    await this.db.query(`UPDATE drift_reports SET checked_at_ms = ? WHERE id = ? AND holder = ?`, [checkedAtMs, id, holder]);
  }

  async finish(id: number, holder: string, result: DriftResult, now = Date.now()): Promise<boolean> {
    const { affected } = await this.db.execute(
      `UPDATE drift_reports SET state = 'done', finished_at_ms = ?, phase = NULL, iterable_members = ?, desired_members = ?, missing = ?, extra = ?,
         repaired = ?, left_out = ?, refused = ?, missing_sample = ?, extra_sample = ?, extra_kept = ?
       WHERE id = ? AND holder = ? AND state = 'running'`,
      [
        now,
        result.iterableMembers,
        result.desiredMembers,
        result.missing,
        result.extra,
        result.repaired,
        result.leftOut,
        result.refused,
        JSON.stringify(result.missingSample),
        JSON.stringify(result.extraSample),
        result.extraKept ?? 0,
        id,
        holder,
      ],
    );
    return affected > 0;
  }

  async fail(id: number, holder: string | null, error: string, partial: Partial<DriftResult> = {}, now = Date.now()): Promise<void> {
    await this.db.query(
      `UPDATE drift_reports SET state = 'failed', finished_at_ms = ?, phase = NULL, error = ?, ` +
        `iterable_members = COALESCE(?, iterable_members), repaired = COALESCE(?, repaired)
       WHERE id = ? AND state = 'running'${holder === null ? '' : ' AND holder = ?'}`,
      [now, error.slice(0, 2000), partial.iterableMembers ?? null, partial.repaired ?? null, id, ...(holder === null ? [] : [holder])],
    );
  }

  // ---- what a check reads ----------------------------------------------------------------------

  /** Every (account, audience) whose connection maps to the list (removed audiences' too: their acknowledged changes still count). */
  async audiencesOf(listId: number): Promise<{ accountId: number; audienceId: number }[]> {
    const rows = await this.db.query<{ account_id: number | string; audience_id: number | string }>(
      `SELECT account_id, audience_id FROM audience_connections WHERE list_id = ? ORDER BY account_id, audience_id`,
      [listId],
    );
    return rows.map((r) => ({ accountId: Number(r.account_id), audienceId: Number(r.audience_id) }));
  }

  /**
   * One page of an audience's membership rows in primary key order after `afterUserKey` (null: from the start),
   * as their adds with an email. Every statement reads at most `limit` rows of the index, whatever they hold,
   * so none holds the database for long (on SQLite every statement of the process waits its turn). `next` is
   * where the next page starts; null when this was the last. Without `identity` only the emails are read (a check
   * by email needs no more): userId, time and message id are then empty.
   */
  async desiredPage(
    accountId: number,
    audienceId: number,
    afterUserKey: string | null,
    limit: number,
    identity = true,
  ): Promise<{ rows: DesiredRow[]; next: string | null }> {
    const rows = await this.db.query<Record<string, unknown>>(
      `SELECT user_key, action, email${identity ? ', user_id, timestamp_ms, source_message_id' : ''} FROM memberships
       WHERE account_id = ? AND audience_id = ?${afterUserKey === null ? '' : ' AND user_key > ?'} ORDER BY user_key LIMIT ?`,
      [accountId, audienceId, ...(afterUserKey === null ? [] : [afterUserKey]), limit],
    );
    const adds = rows
      .filter((r) => r['action'] === 'add' && r['email'] !== null)
      .map((r) => ({
        userKey: String(r['user_key']),
        email: String(r['email']),
        userId: r['user_id'] === null || r['user_id'] === undefined ? null : String(r['user_id']),
        timestampMs: Number(r['timestamp_ms'] ?? 0),
        sourceMessageId: String(r['source_message_id'] ?? ''),
      }));
    return { rows: adds, next: rows.length < limit ? null : String(rows[rows.length - 1]?.['user_key']) };
  }

  /**
   * One page of the list's members in primary key order (at most `limit` rows read), as those that matter to a
   * check: refused for good, or in flight (unknown, a recheck planned, or settled at or after `settledSinceMs`);
   * with `all`, every member (a check by userId needs the userId Iterable has of each).
   */
  async knownPage(
    listId: number,
    afterMemberKey: string | null,
    settledSinceMs: number,
    limit: number,
    all = false,
  ): Promise<{ rows: KnownRow[]; next: string | null }> {
    const rows = await this.db.query<Record<string, unknown>>(
      `SELECT member_key, user_id, state, recheck_at_ms, updated_at_ms FROM list_members
       WHERE list_id = ?${afterMemberKey === null ? '' : ' AND member_key > ?'} ORDER BY member_key LIMIT ?`,
      [listId, ...(afterMemberKey === null ? [] : [afterMemberKey]), limit],
    );
    const known = rows.flatMap((r): KnownRow[] => {
      const inFlight = r['state'] === 'unknown' || r['recheck_at_ms'] !== null || Number(r['updated_at_ms']) >= settledSinceMs;
      const refused = r['state'] === 'failed' && !inFlight;
      return all || inFlight || refused
        ? [{ memberKey: String(r['member_key']), userId: r['user_id'] === null ? null : String(r['user_id']), refused, inFlight }]
        : [];
    });
    return { rows: known, next: rows.length < limit ? null : String(rows[rows.length - 1]?.['member_key']) };
  }

  /**
   * Of these extra members, those this service once subscribed, as its own records show: a `list_members` row of
   * the list whose `ever_subscribed` is set (Iterable confirmed a subscribe we sent), found by member key, or by
   * userId for a member Iterable names by userId. A repair with repairExtras `ours` unsubscribes only these.
   */
  async subscribedByUs(listId: number, members: RepairMember[]): Promise<RepairMember[]> {
    const ours: RepairMember[] = [];
    for (let i = 0; i < members.length; i += 400) {
      const chunk = members.slice(i, i + 400);
      const keys = chunk.map((m) => m.memberKey);
      const userIds = chunk.flatMap((m) => (m.userId === null ? [] : [m.userId]));
      const rows = await this.db.query<{ member_key: string; user_id: string | null }>(
        `SELECT member_key, user_id FROM list_members WHERE list_id = ? AND ever_subscribed = ? AND (member_key IN (${keys.map(() => '?').join(', ')})` +
          `${userIds.length === 0 ? '' : ` OR user_id IN (${userIds.map(() => '?').join(', ')})`})`,
        [listId, true, ...keys, ...userIds],
      );
      const byKey = new Set(rows.map((r) => r.member_key));
      const byUserId = new Set(rows.flatMap((r) => (r.user_id === null ? [] : [r.user_id])));
      for (const m of chunk) if (byKey.has(m.memberKey) || (m.userId !== null && byUserId.has(m.userId))) ours.push(m);
    }
    return ours;
  }

  /** Whether the list waits to be sent again as a whole (a change of settings): every member is then in flight. */
  async wholeListPending(listId: number): Promise<boolean> {
    const rows = await this.db.query(`SELECT 1 AS x FROM sync_inbox WHERE list_id = ? AND member_key IS NULL LIMIT 1`, [listId]);
    return rows.length > 0;
  }

  /** One page of the list's inbox (members with a change pending; `null`: the whole list), after `afterId`. */
  async inboxPage(listId: number, afterId: number, limit: number): Promise<{ id: number; memberKey: string | null }[]> {
    const rows = await this.db.query<{ id: number | string; member_key: string | null }>(
      `SELECT id, member_key FROM sync_inbox WHERE list_id = ? AND id > ? ORDER BY id LIMIT ?`,
      [listId, afterId, limit],
    );
    return rows.map((r) => ({ id: Number(r.id), memberKey: r.member_key }));
  }

  /**
   * Sends members through delivery again: each is marked unknown with the reason "drift repair" (a row is made
   * for a member delivery never knew, a stranger) and gets an inbox row, in one transaction, so the list's next
   * delivery brings it to its newest state: subscribed when desired, unsubscribed when not, audited as a repair.
   */
  async queueRepair(listId: number, members: RepairMember[], reason: string, now = Date.now()): Promise<void> {
    if (members.length === 0) return;
    const sorted = [...members].sort(byMemberKey);
    await this.db.transaction(async (manager) => {
      await this.db.insertRows(
        'list_members',
        [
          { name: 'list_id', type: 'bigint' },
          { name: 'member_key', type: 'text' },
          { name: 'email', type: 'text' },
          { name: 'user_id', type: 'text' },
          { name: 'state', type: 'text' },
          { name: 'reason', type: 'text' },
          { name: 'updated_at_ms', type: 'bigint' },
        ],
        sorted.map((m) => [listId, m.memberKey, m.email, m.userId, 'unknown', reason, now]),
        `ON CONFLICT (list_id, member_key) DO UPDATE SET state = 'unknown', reason = excluded.reason, updated_at_ms = excluded.updated_at_ms`,
        manager,
      );
      await appendInbox(
        this.db,
        sorted.map((m) => ({ listId, email: m.memberKey })),
        manager,
        now,
      );
    });
  }
}
