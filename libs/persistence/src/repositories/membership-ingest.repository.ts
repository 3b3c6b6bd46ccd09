import type { EntityManager } from 'typeorm';
import { CONFIG_DEFAULTS } from '@audience-bridge/config';
import type { MembershipChange } from '@audience-bridge/domain';
import { ApiKeyCipher } from '../crypto/api-key-cipher';
import { Database } from '../database';
import { isStorageUnavailable } from '../storage-errors';
import {
  IncomingAccountSettings,
  IncomingConnection,
  accountSettingsInForce,
  applyAccountSettings,
  applyConnection,
  connectionsInForce,
  mparticleSettingsHash,
  replacesInForce,
  replacesInForceSql,
  statedAudiences,
} from './mparticle-settings';
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

/** At most this many messages in one statement. */
const MAX_STEADY_GROUP = 64;

/**
 * Thrown to roll a message's transaction back: the account's settings (`settings`) or connections it states
 * changed since the snapshot was read.
 */
class OutdatedSnapshot extends Error {
  constructor(
    readonly settings: boolean,
    readonly connections: IncomingConnection[],
  ) {
    super('the settings snapshot is outdated');
  }
}

/** A steady message's outcome: written, or nothing written because settings it states changed meanwhile. */
type SteadyResult = Omit<IngestResult, 'suspended'> | 'moved';

interface SteadyWaiting {
  message: MembershipMessage;
  resolve: (result: SteadyResult) => void;
  reject: (error: unknown) => void;
}

/** Code-point order, as the database's binary collation and `coalesce` sort keys. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
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
  /** PostgreSQL group commit of steady messages (see `recordSteady`). */
  private readonly steadyQueue: SteadyWaiting[] = [];
  private steadyInFlight = 0;
  private readonly loading = new Map<number, Promise<AccountSnapshot>>();
  /** Each message's settings hash (the snapshot check, the transaction's and the steady statement's). */
  private readonly hashes = new WeakMap<MembershipMessage, string>();

  constructor(
    private readonly db: Database,
    private readonly cipher: ApiKeyCipher,
    private readonly snapshotTtlMs = 1000,
    /** Steady-message statements this process runs at once, each a group (INGEST_GROUPS_IN_FLIGHT); the pool has 10 connections. */
    private readonly groupsInFlight: number = CONFIG_DEFAULTS.INGEST_GROUPS_IN_FLIGHT,
  ) {}

  async record(message: MembershipMessage): Promise<IngestResult> {
    const snapshot = await this.snapshot(message.accountId, message.connections);
    const settingsChanged = replacesInForce(
      snapshot.account?.mparticleSettings !== this.settingsHash(message),
      message.timestampMs,
      snapshot.account?.settingsAtMs,
    );
    const changedConnections = message.connections
      .filter((c) => {
        const stored = snapshot.connections.get(c.audienceId);
        return replacesInForce(stored?.mparticleListId !== c.listId || stored?.audienceName !== c.audienceName, message.timestampMs, stored?.settingsAtMs);
      })
      .sort((a, b) => a.audienceId - b.audienceId);

    // The steady message (settings as stored, no attributes) on PostgreSQL: one statement, no transaction
    // round trips, row locks held only while it runs. Anything else: the transaction below. A steady message whose
    // audience another message moved while it waited for the connection row is written nothing there ('moved'):
    // its lists are then a change of settings, and newest wins decides in the transaction (so for the account's
    // settings when another message changed them while this one waited).
    const steady = this.db.driver === 'postgres' && !settingsChanged && changedConnections.length === 0 && (message.attributes ?? []).length === 0;
    const steadyResult = steady ? await this.recordSteady(message) : undefined;
    const moved = steadyResult === 'moved';
    const connectionsToApply = moved ? message.connections.filter((c) => c.stated !== false) : changedConnections;
    const result =
      steadyResult !== undefined && steadyResult !== 'moved'
        ? steadyResult
        : await this.recordInTransaction(
            message,
            settingsChanged || moved,
            [...connectionsToApply].sort((a, b) => a.audienceId - b.audienceId),
          );
    if (!result.duplicate && (settingsChanged || moved || connectionsToApply.length > 0)) this.snapshots.delete(message.accountId);

    const suspended =
      Boolean(snapshot.account?.suspended && !result.keyChanged) || message.connections.some((c) => snapshot.connections.get(c.audienceId)?.suspended);
    return { ...result, suspended };
  }

  /**
   * `record` in one transaction: settings and connections that changed applied (newest wins), then the changes.
   * When the settings or connections as committed show a change the snapshot missed, the transaction is rolled
   * back and run again with it among the changed ones (at most twice again, then as it is), and the snapshot is
   * read again for the next message.
   */
  private async recordInTransaction(
    message: MembershipMessage,
    settingsChanged: boolean,
    changedConnections: IncomingConnection[],
  ): Promise<Omit<IngestResult, 'suspended'>> {
    let [settings, connections] = [settingsChanged, changedConnections];
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.transactionOnce(message, settings, connections, attempt < 2);
      } catch (error) {
        if (!(error instanceof OutdatedSnapshot)) throw error;
        this.snapshots.delete(message.accountId);
        settings = settings || error.settings;
        connections = [...connections, ...error.connections].sort((a, b) => a.audienceId - b.audienceId);
      }
    }
  }

  private transactionOnce(
    message: MembershipMessage,
    settingsChanged: boolean,
    changedConnections: IncomingConnection[],
    checkOutdated: boolean,
  ): Promise<Omit<IngestResult, 'suspended'>> {
    return this.db.transaction(async (manager) => {
      const [seen] = await this.db.query<{ duplicate_count: number | string }>(
        `INSERT INTO received_messages (account_id, message_id, change_count, duplicate_count, timestamp_ms, stated_audiences, received_at)
         VALUES (?, ?, ?, 0, ?, ?, CURRENT_TIMESTAMP)
         ON CONFLICT (account_id, message_id) DO UPDATE SET duplicate_count = received_messages.duplicate_count + 1
         RETURNING duplicate_count`,
        [message.accountId, message.messageId, message.changes.length, message.timestampMs, statedAudiences(message.connections)],
        manager,
      );
      if (Number(seen?.duplicate_count) > 0) return { duplicate: true, applied: 0, pendingLists: [] as number[], keyChanged: false };
      // The account's settings as committed now, when the snapshot took them for this message's: another process
      // may have changed them a moment ago, and a newer message puts its own back.
      const inForceSettings = settingsChanged || !checkOutdated ? undefined : await accountSettingsInForce(this.db, manager, message.accountId);
      const settingsDiffer = inForceSettings?.mparticleSettings !== this.settingsHash(message);
      if (inForceSettings && replacesInForce(settingsDiffer, message.timestampMs, inForceSettings.settingsAtMs)) throw new OutdatedSnapshot(true, []);
      const account = settingsChanged
        ? await applyAccountSettings(this.db, this.cipher, manager, message.accountId, message.settings, message.timestampMs)
        : { applied: false, keyChanged: false, lists: [] as number[] };
      const moved: number[] = [];
      // In audience id order: two messages naming the same audiences lock their rows in one order.
      for (const c of changedConnections) moved.push(...(await applyConnection(this.db, manager, message.accountId, c, message.timestampMs)).moved);
      // Where each audience's changes go: its list as committed now, read in this transaction (not the
      // snapshot, which another process's subscription may have outdated a moment ago).
      const audienceIds = [...new Set([...message.changes.map((c) => c.audienceId), ...message.connections.map((c) => c.audienceId)])];
      const inForce = await connectionsInForce(this.db, manager, message.accountId, audienceIds);
      // A list this message states, newer than the settings in force and other than them, that the snapshot took for
      // the stored one (another process moved the audience since it was read): applied too, in a transaction again.
      const applied = new Set(changedConnections.map((c) => c.audienceId));
      const outdated = message.connections.filter((c) => {
        const now = inForce.get(c.audienceId);
        return c.stated !== false && !applied.has(c.audienceId) && replacesInForce(now?.mparticleListId !== c.listId, message.timestampMs, now?.settingsAtMs);
      });
      if (checkOutdated && outdated.length > 0) throw new OutdatedSnapshot(false, outdated);
      const memberships = await this.upsertMemberships(manager, message.changes, (audienceId) => inForce.get(audienceId)?.listId ?? undefined);
      await recordAttributes(this.db, manager, message.attributes ?? []);
      const pendingLists = [...new Set([...memberships.pendingLists, ...moved, ...account.lists])].sort((a, b) => a - b);
      return { duplicate: false, applied: memberships.applied, pendingLists, keyChanged: account.keyChanged };
    });
  }

  /** A message's settings as compared with those in force (two keyed hashes), computed once per message. */
  private settingsHash(message: MembershipMessage): string {
    let hash = this.hashes.get(message);
    if (hash === undefined) this.hashes.set(message, (hash = mparticleSettingsHash(this.cipher, message.settings)));
    return hash;
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
   * `record` for a message that changes no settings, on PostgreSQL, with group commit: messages arriving while
   * earlier groups are being written go out together as one statement of data-modifying CTEs (message ids, the
   * newest-wins upsert, an inbox row per (list, member) the accepted changes name). One statement is atomic like
   * a transaction; a group of them costs one round trip and one commit instead of one each. Each message is
   * answered only when its group's statement has committed.
   */
  private recordSteady(message: MembershipMessage): Promise<SteadyResult> {
    return new Promise((resolve, reject) => {
      this.steadyQueue.push({ message, resolve, reject });
      this.flushSteady();
    });
  }

  private flushSteady(): void {
    while (this.steadyInFlight < this.groupsInFlight && this.steadyQueue.length > 0) {
      const group = this.takeSteadyGroup();
      this.steadyInFlight++;
      void this.writeSteadyGroup(group).finally(() => {
        this.steadyInFlight--;
        this.flushSteady();
      });
    }
  }

  /**
   * The next group, oldest first: no two of its messages share a message id or an (account, audience, user)
   * key, since one statement cannot upsert a row twice; a message that would waits for the next group.
   */
  private takeSteadyGroup(): SteadyWaiting[] {
    const ids = new Set<string>();
    const keys = new Set<string>();
    const group: SteadyWaiting[] = [];
    const rest: SteadyWaiting[] = [];
    for (const waiting of this.steadyQueue) {
      const id = `${waiting.message.accountId}\u0000${waiting.message.messageId}`;
      const own = waiting.message.changes.map((c) => `${c.accountId}\u0000${c.audienceId}\u0000${c.userKey}`);
      if (group.length >= MAX_STEADY_GROUP || ids.has(id) || own.some((k) => keys.has(k))) {
        rest.push(waiting);
        continue;
      }
      ids.add(id);
      for (const k of own) keys.add(k);
      group.push(waiting);
    }
    this.steadyQueue.splice(0, this.steadyQueue.length, ...rest);
    return group;
  }

  /**
   * Writes a group; a group that fails for a reason of its own (not storage) is split in halves until the message
   * that fails is alone: no message is answered 200 unless its own rows committed, and a poison message fails
   * alone. When storage cannot commit, every message of the group fails (nothing of it was stored).
   */
  private async writeSteadyGroup(group: SteadyWaiting[]): Promise<void> {
    try {
      const results = await this.steadyStatement(group.map((w) => w.message));
      group.forEach((w, i) => w.resolve(results[i] as SteadyResult));
    } catch (error) {
      if (group.length === 1 || isStorageUnavailable(error)) {
        for (const w of group) w.reject(error);
        return;
      }
      const half = Math.ceil(group.length / 2);
      await Promise.all([this.writeSteadyGroup(group.slice(0, half)), this.writeSteadyGroup(group.slice(half))]);
    }
  }

  /** One statement for a group of steady messages (see `recordSteady`), answering each message's result in order. */
  private async steadyStatement(messages: MembershipMessage[]): Promise<SteadyResult[]> {
    const byId = [...messages].sort((a, b) => a.accountId - b.accountId || compareText(a.messageId, b.messageId));
    // Rows in key order: concurrent statements lock memberships in one order and cannot deadlock on them.
    const rows = messages
      .flatMap((m) => m.changes)
      .sort((a, b) => a.accountId - b.accountId || a.audienceId - b.audienceId || compareText(a.userKey, b.userKey))
      .map(membershipRow);
    const arrays = MEMBERSHIP_COLUMNS.map((_, i) => rows.map((r) => r[i] ?? null));
    // The lists the messages state, checked against the connections once locked.
    const stated = messages.flatMap((m) =>
      m.connections
        .filter((c) => c.stated !== false)
        .map((c) => ({ accountId: m.accountId, messageId: m.messageId, audienceId: c.audienceId, listId: c.listId })),
    );
    const audiences = [
      ...new Map(
        [...messages.flatMap((m) => m.changes), ...stated].map((c) => [`${c.accountId}:${c.audienceId}`, [c.accountId, c.audienceId] as const]),
      ).values(),
    ].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const out = await this.db.statement<{
      account_id: number | string;
      message_id: string;
      duplicate_count: number | string;
      applied: number | string;
      lists: (number | string)[] | null;
    }>(
      `WITH msg AS (
         SELECT * FROM unnest(?::bigint[], ?::text[], ?::integer[], ?::bigint[], ?::text[], ?::text[])
           AS m(account_id, message_id, change_count, timestamp_ms, stated_audiences, mparticle_settings)
       ), acct AS MATERIALIZED (
         -- Locked first, as the transaction path locks them: the account before its connections.
         SELECT a.account_id, a.mparticle_settings, a.settings_at_ms FROM accounts a
         WHERE a.account_id IN (SELECT account_id FROM msg)
         ORDER BY a.account_id FOR SHARE OF a
       ), conn AS (
         SELECT c.account_id, c.audience_id, c.list_id, c.mparticle_list_id, c.settings_at_ms FROM audience_connections c
         JOIN unnest(?::bigint[], ?::bigint[]) AS k(account_id, audience_id) ON c.account_id = k.account_id AND c.audience_id = k.audience_id
         WHERE c.list_id IS NOT NULL AND (SELECT COUNT(*) FROM acct) >= 0
         ORDER BY c.account_id, c.audience_id FOR SHARE OF c
       ), moved AS (
         -- Messages stating settings or a list that replace those in force once the rows are locked (a change another
         -- message committed while this statement waited for it): nothing of them is written here; the transaction
         -- path applies them (README "The rules lists follow"). The rule is replacesInForce's.
         SELECT st.account_id, st.message_id
         FROM unnest(?::bigint[], ?::text[], ?::bigint[], ?::bigint[]) AS st(account_id, message_id, audience_id, list_id)
         JOIN msg m ON m.account_id = st.account_id AND m.message_id = st.message_id
         LEFT JOIN conn c ON c.account_id = st.account_id AND c.audience_id = st.audience_id
         WHERE ${replacesInForceSql('c.mparticle_list_id IS DISTINCT FROM st.list_id', 'm.timestamp_ms', 'c.settings_at_ms')}
         UNION
         SELECT m.account_id, m.message_id FROM msg m
         LEFT JOIN acct a ON a.account_id = m.account_id
         WHERE ${replacesInForceSql('a.mparticle_settings IS DISTINCT FROM m.mparticle_settings', 'm.timestamp_ms', 'a.settings_at_ms')}
       ), seen AS (
         INSERT INTO received_messages (account_id, message_id, change_count, duplicate_count, timestamp_ms, stated_audiences, received_at)
         SELECT account_id, message_id, change_count, 0, timestamp_ms, stated_audiences, CURRENT_TIMESTAMP FROM msg
         WHERE NOT EXISTS (SELECT 1 FROM moved WHERE moved.account_id = msg.account_id AND moved.message_id = msg.message_id)
         ON CONFLICT (account_id, message_id) DO UPDATE SET duplicate_count = received_messages.duplicate_count + 1
         RETURNING account_id, message_id, duplicate_count
       ), locked AS (
         -- Read (and so locked) before any membership row: every writer locks an audience's connection before its
         -- members (the transaction path too), so two writers never wait on each other in opposite orders.
         SELECT COUNT(*) AS n FROM conn
       ), up AS (
         INSERT INTO memberships (${MEMBERSHIP_COLUMNS.map((c) => c.name).join(', ')})
         SELECT r.* FROM unnest(${MEMBERSHIP_COLUMNS.map((c) => `?::${c.type}[]`).join(', ')})
           AS r(${MEMBERSHIP_COLUMNS.map((c) => c.name).join(', ')})
         JOIN seen s ON s.account_id = r.account_id AND s.message_id = r.source_message_id AND s.duplicate_count = 0
         CROSS JOIN locked
         ORDER BY r.account_id, r.audience_id, r.user_key
         ${this.upsertTail('account_id, audience_id, email, prev_email, source_message_id')}
       ), targets AS (
         SELECT DISTINCT l.list_id, e.email, up.account_id, up.source_message_id FROM up
         JOIN conn AS l ON l.account_id = up.account_id AND l.audience_id = up.audience_id
         CROSS JOIN LATERAL (VALUES (up.email), (up.prev_email)) AS e(email)
         WHERE e.email IS NOT NULL
       ), inbox AS (
         INSERT INTO sync_inbox (list_id, member_key, created_at_ms) SELECT DISTINCT list_id, email, ?::bigint FROM targets RETURNING list_id
       )
       SELECT s.account_id, s.message_id, s.duplicate_count,
              (SELECT COUNT(*) FROM up WHERE up.account_id = s.account_id AND up.source_message_id = s.message_id) AS applied,
              ARRAY(SELECT DISTINCT t.list_id FROM targets t
                    WHERE t.account_id = s.account_id AND t.source_message_id = s.message_id ORDER BY t.list_id) AS lists
       FROM seen s`,
      [
        byId.map((m) => m.accountId),
        byId.map((m) => m.messageId),
        byId.map((m) => m.changes.length),
        byId.map((m) => m.timestampMs),
        byId.map((m) => statedAudiences(m.connections)),
        byId.map((m) => this.settingsHash(m)),
        audiences.map(([accountId]) => accountId),
        audiences.map(([, audienceId]) => audienceId),
        stated.map((x) => x.accountId),
        stated.map((x) => x.messageId),
        stated.map((x) => x.audienceId),
        stated.map((x) => x.listId),
        ...arrays,
        Date.now(),
      ],
      { prepareAs: 'ingest-steady-group-v4' },
    );
    const results = new Map(
      out.map((r) => [
        `${Number(r.account_id)}\u0000${r.message_id}`,
        Number(r.duplicate_count) > 0
          ? { duplicate: true, applied: 0, pendingLists: [] as number[], keyChanged: false }
          : { duplicate: false, applied: Number(r.applied ?? 0), pendingLists: (r.lists ?? []).map(Number), keyChanged: false },
      ]),
    );
    // A message without a row in the answer was left out (`moved`): its settings changed while the statement waited.
    return messages.map((m) => results.get(`${m.accountId}\u0000${m.messageId}`) ?? 'moved');
  }

  /** Newest wins per (account, audience, user): the conflict clause of every membership upsert. */
  private upsertTail(returning = 'audience_id, email, prev_email'): string {
    // A change that names no identity Iterable can take (a delete without an email in Customer ID mode)
    // keeps the one sent before: a delete still removes that member, an add keeps it.
    const keepPrevious = `excluded.email IS NULL AND memberships.email IS NOT NULL`;
    const email = `CASE WHEN ${keepPrevious} THEN memberships.email ELSE excluded.email END`;
    // The email named before, only when this change names another: a change that keeps the identity writes no
    // indexed column (prev_email's partial index holds only identity changes), so PostgreSQL can update the row in
    // place (a HOT update: no index entry at all) instead of adding one to each of the table's indexes.
    return `ON CONFLICT (account_id, audience_id, user_key) DO UPDATE SET
         mpid = COALESCE(excluded.mpid, memberships.mpid),
         action = excluded.action,
         prev_email = CASE WHEN ${email} IS DISTINCT FROM memberships.email THEN memberships.email END,
         email = ${email},
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
       RETURNING ${returning}`;
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
