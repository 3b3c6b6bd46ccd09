import type { EntityManager } from 'typeorm';
import type { DataCenter, UserIdField } from '@audience-bridge/domain';
import { ApiKeyCipher, last4 } from '../crypto/api-key-cipher';
import type { Database } from '../database';
import { appendInbox } from './sync-inbox';

/** The account settings mParticle sends with its messages. */
export interface IncomingAccountSettings {
  apiKey?: string;
  userIdField: UserIdField;
  dataCenter: DataCenter;
}

export interface IncomingConnection {
  audienceId: number;
  audienceName: string;
  listId: number;
  /**
   * False when the message's entries carried no list of their own and the stored one stands in: such a message
   * states nothing about the audience's list (default true).
   */
  stated?: boolean;
}

/**
 * The audiences whose list a membership message states, kept with its id in `received_messages.stated_audiences`
 * (`,10,20,`; null for none): a later, older message cannot move an audience a newer one stated, even when the
 * newer one only restated the list in force and so wrote nothing else of its settings.
 */
export function statedAudiences(connections: readonly IncomingConnection[]): string | null {
  const ids = connections.filter((c) => c.stated !== false).map((c) => c.audienceId);
  return ids.length === 0 ? null : `,${[...new Set(ids)].sort((a, b) => a - b).join(',')},`;
}

/** What mParticle's settings look like to compare: a keyed hash, so the key itself is never compared or kept in clear. */
export function mparticleSettingsHash(cipher: ApiKeyCipher, s: IncomingAccountSettings): string {
  return cipher.fingerprint(`${s.apiKey === undefined ? '' : cipher.fingerprint(s.apiKey)}|${s.userIdField}|${s.dataCenter}`);
}

/**
 * Newest wins for a setting a message states (the account's settings, an audience's list): it replaces what is in
 * force when nothing is in force yet, or when it differs from mParticle's value in force and the message is newer
 * than the one that stated that value (`settings_at_ms`). The snapshot check, the transaction's check against the
 * committed rows and the steady statement's (`replacesInForceSql`) all quote this rule; the writes
 * themselves (`applyAccountSettings`, `applyConnection`) also hold back for newer membership messages.
 */
export function replacesInForce(differs: boolean, timestampMs: number, settingsAtMs: number | undefined): boolean {
  return settingsAtMs === undefined || (differs && timestampMs > settingsAtMs);
}

/** `replacesInForce` in SQL, over column expressions (`settingsAtMs` is NULL when nothing is in force). */
export function replacesInForceSql(differs: string, timestampMs: string, settingsAtMs: string): string {
  return `(${settingsAtMs} IS NULL OR ((${differs}) AND ${timestampMs} > ${settingsAtMs}))`;
}

/**
 * The rule for settings mParticle owns (API key, userIdField, dataCenter; an audience's list id):
 * - newest wins: a message applies its settings only if its `timestamp_ms` is newer than every message that
 *   stated the settings in force, whether or not it changed them (the newest membership message received, and
 *   `settings_at_ms`), so a late older message never puts a revoked key back;
 * - only a change of mParticle's own values is applied: mParticle repeats them on every message, and an
 *   operator's change through the admin API (an override, shown as `overriddenAt`) holds until mParticle
 *   sends a different value.
 * A new key lifts a suspension for a bad key. One statement: a newer message that repeats the settings in force
 * only restates them (`settings_at_ms`). Answers whether the settings changed and whether the key changed.
 */
export async function applyAccountSettings(
  db: Database,
  cipher: ApiKeyCipher,
  manager: EntityManager | undefined,
  accountId: number,
  settings: IncomingAccountSettings,
  timestampMs: number,
): Promise<{ applied: boolean; keyChanged: boolean; lists: number[] }> {
  const key = settings.apiKey;
  const fingerprint = key === undefined ? null : cipher.fingerprint(key);
  const hash = mparticleSettingsHash(cipher, settings);
  // What the statement replaces, read under a row lock (PostgreSQL) so that no other message changes it meanwhile.
  const [before] = await db.query<{ api_key_fingerprint: string | null; mparticle_settings: string | null }>(
    `SELECT api_key_fingerprint, mparticle_settings FROM accounts WHERE account_id = ?${db.driver === 'postgres' ? ' FOR UPDATE' : ''}`,
    [accountId],
    manager,
  );
  const changed = `COALESCE(accounts.mparticle_settings, '') <> excluded.mparticle_settings`;
  // "No remembered message of the account is newer" as the newest one's time: one descent of the (account, time)
  // index. Written as NOT EXISTS with the bound a column of the row, PostgreSQL guessed a third of the table matched,
  // expected a match at once and read every message id (400 - 600 ms with 5 million; mparticle-settings.spec.ts).
  const ifChanged = (column: string, value: string) => `${column} = CASE WHEN ${changed} THEN ${value} ELSE accounts.${column} END`;
  const liftBadKey = `${changed} AND accounts.status = 'suspended' AND accounts.suspended_reason LIKE 'bad api key%'
    AND excluded.api_key_fingerprint IS NOT NULL AND excluded.api_key_fingerprint <> COALESCE(accounts.api_key_fingerprint, '')`;
  const { rows } = await db.execute(
    `INSERT INTO accounts (account_id, api_key_ciphertext, api_key_fingerprint, api_key_last4, user_id_field, data_center, status, dry_run,
                           settings_at_ms, mparticle_settings, overridden_at_ms, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, NULL, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)
     ON CONFLICT (account_id) DO UPDATE SET
       ${ifChanged('api_key_ciphertext', 'COALESCE(excluded.api_key_ciphertext, accounts.api_key_ciphertext)')},
       ${ifChanged('api_key_fingerprint', 'COALESCE(excluded.api_key_fingerprint, accounts.api_key_fingerprint)')},
       ${ifChanged('api_key_last4', 'COALESCE(excluded.api_key_last4, accounts.api_key_last4)')},
       ${ifChanged('user_id_field', 'excluded.user_id_field')},
       ${ifChanged('data_center', 'excluded.data_center')},
       status = CASE WHEN ${liftBadKey} THEN 'active' ELSE accounts.status END,
       suspended_reason = CASE WHEN ${liftBadKey} THEN NULL ELSE accounts.suspended_reason END,
       ${ifChanged('overridden_at_ms', 'NULL')},
       ${ifChanged('updated_at', 'CURRENT_TIMESTAMP')},
       settings_at_ms = excluded.settings_at_ms,
       mparticle_settings = excluded.mparticle_settings
     WHERE accounts.settings_at_ms < excluded.settings_at_ms
       AND COALESCE((SELECT MAX(r.timestamp_ms) FROM received_messages r WHERE r.account_id = accounts.account_id), excluded.settings_at_ms)
           <= excluded.settings_at_ms
     RETURNING account_id`,
    [
      accountId,
      key === undefined ? null : cipher.encrypt(key, accountId),
      fingerprint,
      key === undefined ? null : last4(key),
      settings.userIdField,
      settings.dataCenter,
      false,
      timestampMs,
      hash,
    ],
    manager,
  );
  const applied = rows.length > 0 && before?.mparticle_settings !== hash;
  const keyChanged = applied && before !== undefined && fingerprint !== null && before.api_key_fingerprint !== fingerprint;
  // A new key: every list of the account is brought to the newest state with it (answered, to be signalled).
  const lists = keyChanged ? await reconcileLists(db, manager, accountId) : [];
  return { applied, keyChanged, lists };
}

/**
 * The account's settings as committed now (mParticle's, hashed, and when they were stated), inside the writing
 * transaction; share-locked on PostgreSQL until it commits, so a message changing them waits for this one or this
 * one reads its change. Undefined when there is no account yet.
 */
export async function accountSettingsInForce(
  db: Database,
  manager: EntityManager | undefined,
  accountId: number,
): Promise<{ mparticleSettings: string | null; settingsAtMs: number } | undefined> {
  const [row] = await db.query<{ mparticle_settings: string | null; settings_at_ms: string | number }>(
    `SELECT mparticle_settings, settings_at_ms FROM accounts WHERE account_id = ?${db.driver === 'postgres' ? ' FOR SHARE' : ''}`,
    [accountId],
    manager,
  );
  return row ? { mparticleSettings: row.mparticle_settings, settingsAtMs: Number(row.settings_at_ms) } : undefined;
}

/**
 * An audience's connection as mParticle sends it, newest wins and only mParticle's changes applied (see
 * `applyAccountSettings`). When the list changes, the old and the new list are asked for whole: the new one
 * gets the audience's members from stored state, the old one loses them unless another audience keeps them.
 * Answers the list the audience's changes go to now.
 */
export async function applyConnection(
  db: Database,
  manager: EntityManager | undefined,
  accountId: number,
  c: IncomingConnection,
  timestampMs: number,
): Promise<{ listId: number | null; moved: number[] }> {
  // A new connection: created as the message states it, nothing to move. A conflict waits for whoever is
  // creating the same connection at this moment, so the steps below always see a committed row.
  const { rows: inserted } = await db.execute<{ list_id: string | number | null }>(
    `INSERT INTO audience_connections (account_id, audience_id, audience_name, list_id, status, settings_at_ms, mparticle_list_id, created_at, updated_at)
     VALUES (?, ?, ?, ?, 'active', ?, ?, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)
     ON CONFLICT (account_id, audience_id) DO NOTHING
     RETURNING list_id`,
    [accountId, c.audienceId, c.audienceName, c.listId, timestampMs, c.listId],
    manager,
  );
  if (inserted.length > 0) return { listId: c.listId, moved: [] };
  // The list in force, read under a row lock (PostgreSQL) so that no other message changes it between this
  // read and the update: what "was" is what the update replaces (issue 21: a connection created by another
  // message a moment ago was read as missing, and its first members were signalled to no list).
  const [before] = await db.query<{ list_id: string | number | null }>(
    `SELECT list_id FROM audience_connections WHERE account_id = ? AND audience_id = ?${db.driver === 'postgres' ? ' FOR UPDATE' : ''}`,
    [accountId, c.audienceId],
    manager,
  );
  // Newer than every message that stated the settings in force (the last one applied, `settings_at_ms`, and every
  // membership message that named the audience with a list, `stated_audiences`, even one that only restated it):
  // applied, and stated as of this message from now on. Only a change of mParticle's own values replaces what is in
  // force (an operator's override holds until then).
  const changed = `(COALESCE(mparticle_list_id, -1) <> ? OR audience_name <> ?)`;
  const listChanged = `COALESCE(mparticle_list_id, -1) <> ?`;
  const { rows } = await db.execute<{ list_id: string | number | null }>(
    `UPDATE audience_connections SET
       audience_name = ?,
       list_id = CASE WHEN ${listChanged} THEN ? ELSE list_id END,
       overridden_at_ms = CASE WHEN ${listChanged} THEN NULL ELSE overridden_at_ms END,
       mparticle_list_id = ?,
       settings_at_ms = ?,
       updated_at = CASE WHEN ${changed} THEN CURRENT_TIMESTAMP ELSE updated_at END
     WHERE account_id = ? AND audience_id = ? AND settings_at_ms < ?
       AND NOT EXISTS (SELECT 1 FROM received_messages r
                       WHERE r.account_id = audience_connections.account_id AND r.timestamp_ms > ? AND r.stated_audiences LIKE ?)
     RETURNING list_id`,
    [
      c.audienceName,
      c.listId,
      c.listId,
      c.listId,
      c.listId,
      timestampMs,
      c.listId,
      c.audienceName,
      accountId,
      c.audienceId,
      timestampMs,
      timestampMs,
      `%,${c.audienceId},%`,
    ],
    manager,
  );
  const toNumber = (v: string | number | null | undefined) => (v === null || v === undefined ? null : Number(v));
  const was = toNumber(before?.list_id);
  const now = rows[0] ? toNumber(rows[0].list_id) : was;
  // One that had no list (held changes) or another list: both lists are asked for whole.
  const moved = now !== was ? [was, now].filter((l): l is number => l !== null) : [];
  if (moved.length > 0)
    await appendInbox(
      db,
      moved.map((listId) => ({ listId })),
      manager,
    );
  return { listId: now, moved };
}

/** An audience's connection as committed now: the list its changes go to, and mParticle's settings in force. */
export interface ConnectionInForce {
  listId: number | null;
  mparticleListId: number | null;
  settingsAtMs: number;
}

/**
 * Each audience's connection as committed now (not as a snapshot read earlier said), inside the writing
 * transaction. On PostgreSQL the rows are share-locked until it commits: a subscription that moves the
 * audience to another list waits for this message, or this message waits for it and reads the new list, so a
 * change is never signalled to a list the audience just left while the new one misses it.
 */
export async function connectionsInForce(
  db: Database,
  manager: EntityManager | undefined,
  accountId: number,
  audienceIds: number[],
): Promise<Map<number, ConnectionInForce>> {
  if (audienceIds.length === 0) return new Map();
  const ids = [...new Set(audienceIds)].sort((a, b) => a - b);
  const rows = await db.query<Record<'audience_id' | 'list_id' | 'mparticle_list_id' | 'settings_at_ms', string | number | null>>(
    `SELECT audience_id, list_id, mparticle_list_id, settings_at_ms FROM audience_connections
     WHERE account_id = ? AND audience_id IN (${ids.map(() => '?').join(', ')})
     ORDER BY audience_id${db.driver === 'postgres' ? ' FOR SHARE' : ''}`,
    [accountId, ...ids],
    manager,
  );
  const toNumber = (v: string | number | null) => (v === null ? null : Number(v));
  return new Map(
    rows.map((r) => [
      Number(r.audience_id),
      { listId: toNumber(r.list_id), mparticleListId: toNumber(r.mparticle_list_id), settingsAtMs: Number(r.settings_at_ms) },
    ]),
  );
}

/** Every list of the account's connections, asked for whole. */
export async function reconcileLists(db: Database, manager: EntityManager | undefined, accountId: number): Promise<number[]> {
  const rows = await db.query<{ list_id: string | number }>(
    `SELECT DISTINCT list_id FROM audience_connections WHERE account_id = ? AND list_id IS NOT NULL`,
    [accountId],
    manager,
  );
  const lists = rows.map((r) => Number(r.list_id));
  await appendInbox(
    db,
    lists.map((listId) => ({ listId })),
    manager,
  );
  return lists;
}

/**
 * Creates the connection if there is none, without a list (an insert that ignores a conflict, so two first
 * messages at once cannot collide). An audience whose messages name no list is kept so: its changes are
 * recorded and held until a message or an operator names one.
 */
export async function ensureConnection(
  db: Database,
  manager: EntityManager | undefined,
  accountId: number,
  audienceId: number,
  audienceName: string,
): Promise<void> {
  await db.query(
    `INSERT INTO audience_connections (account_id, audience_id, audience_name, list_id, status, settings_at_ms, created_at, updated_at)
     VALUES (?, ?, ?, NULL, 'active', 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP) ON CONFLICT (account_id, audience_id) DO NOTHING`,
    [accountId, audienceId, audienceName],
    manager,
  );
}
