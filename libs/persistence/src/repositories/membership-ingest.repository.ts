import type { EntityManager } from 'typeorm';
import type { MembershipChange } from '@audience-bridge/domain';
import { ApiKeyCipher } from '../crypto/api-key-cipher';
import { Database } from '../database';
import { IncomingAccountSettings, IncomingConnection, applyAccountSettings, applyConnection, listsInForce, mparticleSettingsHash } from './mparticle-settings';
import { appendInbox } from './sync-inbox';
import { AttributeChangeInput, recordAttributes } from './attributes.repository';

export type { IncomingAccountSettings, IncomingConnection } from './mparticle-settings';

export interface MembershipMessage {
  accountId: number;
  messageId: string;
  /** The message's `timestamp_ms`: its settings apply only if newer than those in force. */
  timestampMs: number;
  settings: IncomingAccountSettings;
  connections: IncomingConnection[];
  /**
   * Coalesced per (account, audience, user): at most one change per key, sorted by that key (as
   * `coalesce` returns them), so concurrent transactions lock rows in one order and cannot deadlock.
   */
  changes: MembershipChange[];
  /** Forwarded user attributes (README "User attributes"), one per (user, key), sorted by (user, key). */
  attributes?: AttributeChangeInput[];
}

export interface IngestResult {
  /** The message id was seen before: nothing was changed. */
  duplicate: boolean;
  /** The account or one of the message's connections is suspended: tell mParticle `suspend_subscription`. */
  suspended: boolean;
  /** Lists with at least one member that now waits for delivery. */
  pendingLists: number[];
  /** Changes that became the desired state (older or repeated ones do not). */
  applied: number;
  /** The message brought a new Iterable API key (applied). */
  keyChanged: boolean;
}

/** The columns a change writes (version and updated_at take their defaults). */
const MEMBERSHIP_COLUMNS = [
  { name: 'account_id', type: 'bigint' },
  { name: 'audience_id', type: 'bigint' },
  { name: 'user_key', type: 'text' },
  { name: 'mpid', type: 'text' },
  { name: 'action', type: 'text' },
  { name: 'email', type: 'text' },
  { name: 'user_id', type: 'text' },
  { name: 'skip_reason', type: 'text' },
  { name: 'source_message_id', type: 'text' },
  { name: 'timestamp_ms', type: 'bigint' },
] as const;

function membershipRow(c: MembershipChange): unknown[] {
  return [
    c.accountId,
    c.audienceId,
    c.userKey,
    c.mpid ?? null,
    c.action,
    c.subscriber?.email ?? null,
    c.subscriber?.userId ?? null,
    c.skipReason ?? null,
    c.sourceMessageId,
    c.timestampMs,
  ];
}

/** What the ingest needs to know of an account and its connections, read at most once per `snapshotTtlMs`. */
interface AccountSnapshot {
  loadedAt: number;
  account?: { mparticleSettings: string | null; settingsAtMs: number; suspended: boolean };
  connections: Map<number, { audienceName: string; listId: number | null; mparticleListId: number | null; settingsAtMs: number; suspended: boolean }>;
}

/**
 * Records one accepted mParticle membership message in a single transaction: the message id (a repeat
 * changes nothing), the account settings and audience connections (newest wins, see `applyAccountSettings`),
 * and every change as desired state where the newest `timestamp_ms` per (account, audience, user) wins: the
 * SQL below is the domain's `supersedes` rule, so the order messages arrive in does not matter. Each
 * accepted change appends an inbox row for the worker; ingest never writes a row the worker writes.
 *
 * Settings and statuses rarely change, and mParticle repeats them on every message, so they are compared
 * with a snapshot read at most once per `snapshotTtlMs` (1 s): only a difference is written, and the
 * suspension flag may lag a status change by that long. A steady message costs one transaction of three
 * statements (message id, memberships, inbox).
 */
export class MembershipIngestRepository {
  private readonly snapshots = new Map<number, AccountSnapshot>();
  private readonly loading = new Map<number, Promise<AccountSnapshot>>();

  constructor(
    private readonly db: Database,
    private readonly cipher: ApiKeyCipher,
    private readonly snapshotTtlMs = 1000,
  ) {}

  async record(message: MembershipMessage): Promise<IngestResult> {
    const snapshot = await this.snapshot(message.accountId, message.connections);
    const newer = (atMs: number | undefined) => atMs === undefined || message.timestampMs > atMs;
    const settingsChanged =
      !snapshot.account ||
      (snapshot.account.mparticleSettings !== mparticleSettingsHash(this.cipher, message.settings) && newer(snapshot.account.settingsAtMs));
    const changedConnections = message.connections
      .filter((c) => {
        const stored = snapshot.connections.get(c.audienceId);
        return !stored || ((stored.mparticleListId !== c.listId || stored.audienceName !== c.audienceName) && newer(stored.settingsAtMs));
      })
      .sort((a, b) => a.audienceId - b.audienceId);

    // The steady message (settings as stored, no attributes) on PostgreSQL: one statement, no transaction
    // round trips, row locks held only while it runs. Anything else: the transaction below.
    const steady = this.db.driver === 'postgres' && !settingsChanged && changedConnections.length === 0 && (message.attributes ?? []).length === 0;
    const result = steady
      ? await this.recordSteady(message)
      : await this.db.transaction(async (manager) => {
          const [seen] = await this.db.query<{ duplicate_count: number | string }>(
            `INSERT INTO received_messages (account_id, message_id, change_count, duplicate_count, timestamp_ms, received_at)
         VALUES (?, ?, ?, 0, ?, CURRENT_TIMESTAMP)
         ON CONFLICT (account_id, message_id) DO UPDATE SET duplicate_count = received_messages.duplicate_count + 1
         RETURNING duplicate_count`,
            [message.accountId, message.messageId, message.changes.length, message.timestampMs],
            manager,
          );
          if (Number(seen?.duplicate_count) > 0) return { duplicate: true, applied: 0, pendingLists: [] as number[], keyChanged: false };
          const account = settingsChanged
            ? await applyAccountSettings(this.db, this.cipher, manager, message.accountId, message.settings, message.timestampMs)
            : { applied: false, keyChanged: false };
          const moved: number[] = [];
          // In audience id order: two messages naming the same audiences lock their rows in one order.
          for (const c of changedConnections) moved.push(...(await applyConnection(this.db, manager, message.accountId, c, message.timestampMs)).moved);
          // Where each audience's changes go: its list as committed now, read in this transaction (not the
          // snapshot, which another process's subscription may have outdated a moment ago).
          const audienceIds = [...new Set([...message.changes.map((c) => c.audienceId), ...message.connections.map((c) => c.audienceId)])];
          const listOf = await listsInForce(this.db, manager, message.accountId, audienceIds);
          const memberships = await this.upsertMemberships(manager, message.changes, (audienceId) => listOf.get(audienceId) ?? undefined);
          await recordAttributes(this.db, manager, message.attributes ?? []);
          const keyLists = account.keyChanged
            ? [...listOf.values(), ...[...snapshot.connections.values()].map((c) => c.listId)].filter((l): l is number => l !== null)
            : [];
          const pendingLists = [...new Set([...memberships.pendingLists, ...moved, ...keyLists])].sort((a, b) => a - b);
          return { duplicate: false, applied: memberships.applied, pendingLists, keyChanged: account.keyChanged };
        });
    if (!result.duplicate && (settingsChanged || changedConnections.length > 0)) this.snapshots.delete(message.accountId);

    const suspended =
      Boolean(snapshot.account?.suspended && !result.keyChanged) || message.connections.some((c) => snapshot.connections.get(c.audienceId)?.suspended);
    return { ...result, suspended };
  }

  /** Forgets what was read of an account (after an operator changed it through this process). */
  forget(accountId: number): void {
    this.snapshots.delete(accountId);
  }

  private async snapshot(accountId: number, connections: IncomingConnection[]): Promise<AccountSnapshot> {
    const covers = (s: AccountSnapshot) => connections.every((c) => s.connections.has(c.audienceId));
    const cached = this.snapshots.get(accountId);
    if (cached && Date.now() - cached.loadedAt < this.snapshotTtlMs && covers(cached)) return cached;
    // Messages arriving together when the snapshot expires share one read instead of one each.
    const pending = this.loading.get(accountId);
    if (pending) {
      const loaded = await pending;
      if (covers(loaded)) return loaded;
    }
    const load = this.load(accountId).finally(() => this.loading.delete(accountId));
    this.loading.set(accountId, load);
    return load;
  }

  private async load(accountId: number): Promise<AccountSnapshot> {
    const [account] = await this.db.query<{ mparticle_settings: string | null; settings_at_ms: number | string; status: string }>(
      `SELECT mparticle_settings, settings_at_ms, status FROM accounts WHERE account_id = ?`,
      [accountId],
    );
    const rows = await this.db.query<Record<string, string | number | null>>(
      `SELECT audience_id, audience_name, list_id, mparticle_list_id, settings_at_ms, status FROM audience_connections WHERE account_id = ?`,
      [accountId],
    );
    const num = (v: string | number | null | undefined) => (v === null || v === undefined ? null : Number(v));
    const snapshot: AccountSnapshot = {
      loadedAt: Date.now(),
      ...(account
        ? {
            account: { mparticleSettings: account.mparticle_settings, settingsAtMs: Number(account.settings_at_ms), suspended: account.status === 'suspended' },
          }
        : {}),
      connections: new Map(
        rows.map((r) => [
          Number(r['audience_id']),
          {
            audienceName: String(r['audience_name']),
            listId: num(r['list_id']),
            mparticleListId: num(r['mparticle_list_id']),
            settingsAtMs: Number(r['settings_at_ms']),
            suspended: r['status'] === 'suspended',
          },
        ]),
      ),
    };
    this.snapshots.set(accountId, snapshot);
    return snapshot;
  }

  /**
   * `record` for a message that changes no settings, as one PostgreSQL statement of data-modifying CTEs: the
   * message id (a repeat writes no membership), the memberships (the same newest-wins upsert as
   * `upsertMemberships`), and an inbox row per (list, member) the accepted changes name. One statement is
   * atomic like the transaction, but costs one round trip instead of five.
   */
  private async recordSteady(message: MembershipMessage): Promise<Omit<IngestResult, 'suspended'>> {
    const audienceIds = [...new Set(message.changes.map((c) => c.audienceId))].sort((a, b) => a - b);
    const rows = message.changes.map(membershipRow);
    const arrays = MEMBERSHIP_COLUMNS.map((_, i) => rows.map((r) => r[i] ?? null));
    const [row] = await this.db.statement<{ duplicate_count: number | string | null; applied: number | string; lists: (number | string)[] | null }>(
      `WITH seen AS (
         INSERT INTO received_messages (account_id, message_id, change_count, duplicate_count, timestamp_ms, received_at)
         VALUES (?, ?, ?, 0, ?, CURRENT_TIMESTAMP)
         ON CONFLICT (account_id, message_id) DO UPDATE SET duplicate_count = received_messages.duplicate_count + 1
         RETURNING duplicate_count
       ), up AS (
         INSERT INTO memberships (${MEMBERSHIP_COLUMNS.map((c) => c.name).join(', ')})
         SELECT * FROM unnest(${MEMBERSHIP_COLUMNS.map((c) => `?::${c.type}[]`).join(', ')}) WHERE (SELECT duplicate_count FROM seen) = 0
         ${this.upsertTail()}
       ), conn AS (
         SELECT audience_id, list_id FROM audience_connections
         WHERE account_id = ? AND audience_id = ANY(?::bigint[]) AND list_id IS NOT NULL
         ORDER BY audience_id FOR SHARE
       ), targets AS (
         SELECT DISTINCT l.list_id, e.email FROM up
         JOIN conn AS l ON l.audience_id = up.audience_id
         CROSS JOIN LATERAL (VALUES (up.email), (up.prev_email)) AS e(email)
         WHERE e.email IS NOT NULL
       ), inbox AS (
         INSERT INTO sync_inbox (list_id, member_key, created_at_ms) SELECT list_id, email, ?::bigint FROM targets RETURNING list_id
       )
       SELECT (SELECT duplicate_count FROM seen) AS duplicate_count, (SELECT COUNT(*) FROM up) AS applied,
              ARRAY(SELECT DISTINCT list_id FROM inbox ORDER BY list_id) AS lists`,
      [message.accountId, message.messageId, message.changes.length, message.timestampMs, ...arrays, message.accountId, audienceIds, Date.now()],
    );
    if (Number(row?.duplicate_count) > 0) return { duplicate: true, applied: 0, pendingLists: [], keyChanged: false };
    return { duplicate: false, applied: Number(row?.applied ?? 0), pendingLists: (row?.lists ?? []).map(Number), keyChanged: false };
  }

  /** Newest wins per (account, audience, user): the conflict clause of every membership upsert. */
  private upsertTail(): string {
    // A change that names no identity Iterable can take (a delete without an email in Customer ID mode)
    // keeps the one sent before: a delete still removes that member, an add keeps it.
    const keepPrevious = `excluded.email IS NULL AND memberships.email IS NOT NULL`;
    return `ON CONFLICT (account_id, audience_id, user_key) DO UPDATE SET
         mpid = COALESCE(excluded.mpid, memberships.mpid),
         action = excluded.action,
         prev_email = memberships.email,
         email = CASE WHEN ${keepPrevious} THEN memberships.email ELSE excluded.email END,
         user_id = CASE WHEN ${keepPrevious} THEN memberships.user_id ELSE excluded.user_id END,
         skip_reason = CASE WHEN ${keepPrevious} THEN NULL ELSE excluded.skip_reason END,
         source_message_id = excluded.source_message_id,
         timestamp_ms = excluded.timestamp_ms,
         version = memberships.version + 1,
         updated_at = CURRENT_TIMESTAMP
       WHERE excluded.timestamp_ms > memberships.timestamp_ms
          OR (excluded.timestamp_ms = memberships.timestamp_ms AND excluded.action = 'delete' AND memberships.action = 'add')
          OR (excluded.timestamp_ms = memberships.timestamp_ms AND excluded.action = memberships.action
              AND ${this.db.binary('excluded.source_message_id')} > ${this.db.binary('memberships.source_message_id')})
       RETURNING audience_id, email, prev_email`;
  }

  /**
   * Newest wins per (account, audience, user). Every accepted change appends an inbox row for its member on
   * its audience's list, and one for the member it named before when the identity changed: the worker
   * brings exactly those members to their newest state. Ingest never updates a row the worker writes.
   */
  private async upsertMemberships(
    manager: EntityManager,
    changes: MembershipChange[],
    listOf: (audienceId: number) => number | undefined,
  ): Promise<{ applied: number; pendingLists: number[] }> {
    const inbox = new Map<string, { listId: number; email: string }>();
    const rows = await this.db.insertRows<{ audience_id: string | number; email: string | null; prev_email: string | null }>(
      'memberships',
      MEMBERSHIP_COLUMNS,
      changes.map(membershipRow),
      this.upsertTail(),
      manager,
    );
    const applied = rows.length;
    for (const row of rows) {
      const listId = listOf(Number(row.audience_id));
      if (listId === undefined) continue;
      for (const email of [row.email, row.prev_email]) if (email) inbox.set(`${listId}\u0000${email}`, { listId, email });
    }
    await appendInbox(this.db, [...inbox.values()], manager);
    return { applied, pendingLists: [...new Set([...inbox.values()].map((r) => r.listId))].sort((a, b) => a - b) };
  }
}
