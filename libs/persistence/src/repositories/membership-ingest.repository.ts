import type { EntityManager } from 'typeorm';
import type { DataCenter, MembershipChange, UserIdField } from '@audience-bridge/domain';
import { ApiKeyCipher, last4 } from '../crypto/api-key-cipher';
import { Database } from '../database';
import { appendInbox } from './sync-inbox';

/** The account settings mParticle sends with every membership message. */
export interface IncomingAccountSettings {
  apiKey?: string;
  userIdField: UserIdField;
  dataCenter: DataCenter;
}

export interface IncomingConnection {
  audienceId: number;
  audienceName: string;
  listId: number;
}

export interface MembershipMessage {
  accountId: number;
  messageId: string;
  settings: IncomingAccountSettings;
  connections: IncomingConnection[];
  /**
   * Coalesced per (account, audience, user): at most one change per key, sorted by that key (as
   * `coalesce` returns them), so concurrent transactions lock rows in one order and cannot deadlock.
   */
  changes: MembershipChange[];
}

export interface IngestResult {
  /** The message id was seen before: nothing was changed. */
  duplicate: boolean;
  /** The account or one of the message's connections is suspended: tell mParticle `suspend_subscription`. */
  suspended: boolean;
  /** Lists with at least one change that now waits for delivery. */
  pendingLists: number[];
  /** Changes that became the desired state (older or repeated ones do not). */
  applied: number;
}

/** Rows per multi-row INSERT: 12 parameters a row stays far under both drivers' parameter limits. */
const ROWS_PER_STATEMENT = 500;

/** What the ingest needs to know of an account and its connections, read at most once per `snapshotTtlMs`. */
interface AccountSnapshot {
  loadedAt: number;
  account?: { fingerprint: string | null; userIdField: string; dataCenter: string; suspended: boolean };
  connections: Map<number, { audienceName: string; listId: number | null; suspended: boolean }>;
}

/**
 * Records one accepted mParticle membership message in a single transaction: the message id (a repeat
 * changes nothing), the account settings (API key encrypted), the audience connections, and every change
 * as desired state where the newest `timestamp_ms` per (account, audience, user) wins: the SQL below is
 * the domain's `supersedes` rule, so the order messages arrive in does not matter.
 *
 * Settings and statuses rarely change, and mParticle repeats them on every message, so they are compared
 * with a snapshot read at most once per `snapshotTtlMs` (1 s): only a difference is written, and the
 * suspension flag may lag a status change by that long. A steady message costs one transaction of two
 * statements.
 */
export class MembershipIngestRepository {
  private readonly snapshots = new Map<number, AccountSnapshot>();

  constructor(
    private readonly db: Database,
    private readonly cipher: ApiKeyCipher,
    private readonly snapshotTtlMs = 1000,
  ) {}

  async record(message: MembershipMessage): Promise<IngestResult> {
    const snapshot = await this.snapshot(message.accountId, message.connections);
    const settingsChanged = this.accountDiffers(snapshot, message.settings);
    const changedConnections = message.connections
      .filter((c) => {
        const stored = snapshot.connections.get(c.audienceId);
        return !stored || stored.audienceName !== c.audienceName || stored.listId !== c.listId;
      })
      .sort((a, b) => a.audienceId - b.audienceId);

    const result = await this.db.transaction(async (manager) => {
      const [seen] = await this.db.query<{ duplicate_count: number | string }>(
        `INSERT INTO received_messages (account_id, message_id, change_count, duplicate_count, received_at) VALUES (?, ?, ?, 0, CURRENT_TIMESTAMP)
         ON CONFLICT (account_id, message_id) DO UPDATE SET duplicate_count = received_messages.duplicate_count + 1
         RETURNING duplicate_count`,
        [message.accountId, message.messageId, message.changes.length],
        manager,
      );
      if (Number(seen?.duplicate_count) > 0) return { duplicate: true, applied: 0, pendingLists: [] as number[] };
      if (settingsChanged) await this.upsertAccount(manager, message.accountId, message.settings);
      // In audience id order: two messages naming the same audiences lock their rows in one order.
      const moved: number[] = [];
      for (const c of changedConnections) {
        const before = await this.upsertConnection(manager, message.accountId, c);
        // The list follows the audience: the old list loses its members, the new one gets them all.
        if (before !== undefined && before !== c.listId) moved.push(before, c.listId);
      }
      if (moved.length > 0) await appendInbox(this.db, [...new Set(moved)].map((listId) => ({ listId })), manager);
      const listOf = new Map(message.connections.map((c) => [c.audienceId, c.listId]));
      const applied = await this.upsertMemberships(manager, message.changes, (audienceId) => listOf.get(audienceId));
      return { duplicate: false, applied: applied.applied, pendingLists: [...new Set([...applied.pendingLists, ...moved])].sort((a, b) => a - b) };
    });
    if (!result.duplicate && (settingsChanged || changedConnections.length > 0)) this.snapshots.delete(message.accountId);

    const suspended =
      Boolean(snapshot.account?.suspended) || message.connections.some((c) => snapshot.connections.get(c.audienceId)?.suspended);
    return { ...result, suspended };
  }

  /** Forgets what was read of an account (after an operator changed it through this process). */
  forget(accountId: number): void {
    this.snapshots.delete(accountId);
  }

  private async snapshot(accountId: number, connections: IncomingConnection[]): Promise<AccountSnapshot> {
    const cached = this.snapshots.get(accountId);
    const fresh = cached && Date.now() - cached.loadedAt < this.snapshotTtlMs;
    if (fresh && connections.every((c) => cached.connections.has(c.audienceId))) return cached;

    const [account] = await this.db.query<{ api_key_fingerprint: string | null; user_id_field: string; data_center: string; status: string }>(
      `SELECT api_key_fingerprint, user_id_field, data_center, status FROM accounts WHERE account_id = ?`,
      [accountId],
    );
    const rows = await this.db.query<{ audience_id: number | string; audience_name: string; list_id: number | string | null; status: string }>(
      `SELECT audience_id, audience_name, list_id, status FROM audience_connections WHERE account_id = ?`,
      [accountId],
    );
    const snapshot: AccountSnapshot = {
      loadedAt: Date.now(),
      ...(account
        ? { account: { fingerprint: account.api_key_fingerprint, userIdField: account.user_id_field, dataCenter: account.data_center, suspended: account.status === 'suspended' } }
        : {}),
      connections: new Map(
        rows.map((r) => [Number(r.audience_id), { audienceName: r.audience_name, listId: r.list_id === null ? null : Number(r.list_id), suspended: r.status === 'suspended' }]),
      ),
    };
    this.snapshots.set(accountId, snapshot);
    return snapshot;
  }

  private accountDiffers(snapshot: AccountSnapshot, settings: IncomingAccountSettings): boolean {
    const stored = snapshot.account;
    if (!stored) return true;
    if (settings.apiKey !== undefined && stored.fingerprint !== this.cipher.fingerprint(settings.apiKey)) return true;
    return stored.userIdField !== settings.userIdField || stored.dataCenter !== settings.dataCenter;
  }

  private async upsertAccount(manager: EntityManager, accountId: number, settings: IncomingAccountSettings): Promise<void> {
    const key = settings.apiKey;
    await this.db.query(
      `INSERT INTO accounts (account_id, api_key_ciphertext, api_key_fingerprint, api_key_last4, user_id_field, data_center, status, dry_run, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, 'active', ?, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)
       ON CONFLICT (account_id) DO UPDATE SET
         api_key_ciphertext = COALESCE(excluded.api_key_ciphertext, accounts.api_key_ciphertext),
         api_key_fingerprint = COALESCE(excluded.api_key_fingerprint, accounts.api_key_fingerprint),
         api_key_last4 = COALESCE(excluded.api_key_last4, accounts.api_key_last4),
         user_id_field = excluded.user_id_field,
         data_center = excluded.data_center,
         updated_at = CURRENT_TIMESTAMP`,
      [
        accountId,
        key === undefined ? null : this.cipher.encrypt(key),
        key === undefined ? null : this.cipher.fingerprint(key),
        key === undefined ? null : last4(key),
        settings.userIdField,
        settings.dataCenter,
        false,
      ],
      manager,
    );
  }

  /** Creates or updates the connection; answers the list it had before (undefined when new or without one). */
  private async upsertConnection(manager: EntityManager, accountId: number, c: IncomingConnection): Promise<number | undefined> {
    const [before] = await this.db.query<{ list_id: string | number | null }>(
      `SELECT list_id FROM audience_connections WHERE account_id = ? AND audience_id = ?`,
      [accountId, c.audienceId],
      manager,
    );
    await this.db.query(
      `INSERT INTO audience_connections (account_id, audience_id, audience_name, list_id, status, created_at, updated_at)
       VALUES (?, ?, ?, ?, 'active', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)
       ON CONFLICT (account_id, audience_id) DO UPDATE SET
         audience_name = excluded.audience_name, list_id = excluded.list_id, updated_at = CURRENT_TIMESTAMP`,
      [accountId, c.audienceId, c.audienceName, c.listId],
      manager,
    );
    return before?.list_id === null || before?.list_id === undefined ? undefined : Number(before.list_id);
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
    let applied = 0;
    const inbox = new Map<string, { listId: number; email: string }>();
    for (let start = 0; start < changes.length; start += ROWS_PER_STATEMENT) {
      const chunk = changes.slice(start, start + ROWS_PER_STATEMENT);
      const params = chunk.flatMap((c) => [
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
      ]);
      const values = chunk.map(() => `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, CURRENT_TIMESTAMP)`).join(', ');
      // A change that names no identity Iterable can take (a delete without an email in Customer ID mode)
      // keeps the one sent before: a delete still removes that member, an add keeps it.
      const keepPrevious = `excluded.email IS NULL AND memberships.email IS NOT NULL`;
      const { rows } = await this.db.execute<{ audience_id: string | number; email: string | null; prev_email: string | null }>(
        `INSERT INTO memberships (account_id, audience_id, user_key, mpid, action, email, user_id, skip_reason, source_message_id, timestamp_ms, version, updated_at)
         VALUES ${values}
         ON CONFLICT (account_id, audience_id, user_key) DO UPDATE SET
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
         RETURNING audience_id, email, prev_email`,
        params,
        manager,
      );
      applied += rows.length;
      for (const row of rows) {
        const listId = listOf(Number(row.audience_id));
        if (listId === undefined) continue;
        for (const email of [row.email, row.prev_email]) if (email) inbox.set(`${listId}\u0000${email}`, { listId, email });
      }
    }
    await appendInbox(this.db, [...inbox.values()], manager);
    return { applied, pendingLists: [...new Set([...inbox.values()].map((r) => r.listId))].sort((a, b) => a - b) };
  }
}
