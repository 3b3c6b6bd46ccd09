import { Injectable } from '@nestjs/common';
import type { ConnectionStatus } from '@audience-bridge/domain';
import { Database } from '../database';
import { AudienceConnectionEntity } from '../entities';
import { IncomingConnection, applyConnection, ensureConnection } from './mparticle-settings';
import { appendInbox } from './sync-inbox';

export interface ConnectionView {
  accountId: number;
  audienceId: number;
  audienceName: string;
  listId: number | null;
  status: ConnectionStatus;
  suspendedReason: string | null;
  /** When an operator last set the list id; null when mParticle's list id is in force. */
  overriddenAt: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface ConnectionUpdate {
  audienceName?: string;
  listId?: number;
  status?: ConnectionStatus;
  /**
   * Why a connection without a list is held (kept in `suspended_reason` while it is not suspended; null clears it).
   * A suspension's own reason is never overwritten.
   */
  heldReason?: string | null;
}

function toView(e: AudienceConnectionEntity): ConnectionView {
  return {
    accountId: e.accountId,
    audienceId: e.audienceId,
    audienceName: e.audienceName,
    listId: e.listId,
    status: e.status,
    // A reason says why it is suspended, or why it is held without a list; none once it forwards to a list.
    suspendedReason: e.status === 'suspended' || e.listId === null ? e.suspendedReason : null,
    overriddenAt: e.overriddenAtMs ? new Date(e.overriddenAtMs).toISOString() : null,
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
  };
}

@Injectable()
export class AudienceConnectionsRepository {
  constructor(private readonly db: Database) {}

  private get repo() {
    return this.db.dataSource.getRepository(AudienceConnectionEntity);
  }

  async find(accountId: number, audienceId: number): Promise<ConnectionView | null> {
    const e = await this.repo.findOneBy({ accountId, audienceId });
    return e ? toView(e) : null;
  }

  /**
   * Accounts suspended, and audience connections suspended (removed ones aside): what `/v1/stats` and the
   * `audience_bridge_suspended_connections` gauge say. Two counts over small tables (one row per account or audience).
   */
  async suspendedCounts(): Promise<{ accounts: number; audiences: number }> {
    const [row] = await this.db.query<{ accounts: number | string; audiences: number | string }>(
      `SELECT (SELECT COUNT(*) FROM accounts WHERE status = 'suspended') AS accounts, ` +
        `(SELECT COUNT(*) FROM audience_connections WHERE status = 'suspended') AS audiences`,
    );
    return { accounts: Number(row?.accounts ?? 0), audiences: Number(row?.audiences ?? 0) };
  }

  /** Every list the account's connections forward into. */
  async listsOf(accountId: number): Promise<number[]> {
    const rows = await this.repo.find({ where: { accountId }, select: { listId: true } });
    return [...new Set(rows.flatMap((r) => (r.listId === null ? [] : [r.listId])))].sort((a, b) => a - b);
  }

  async listIdOf(accountId: number, audienceId: number): Promise<number | undefined> {
    return (await this.repo.findOneBy({ accountId, audienceId }))?.listId ?? undefined;
  }

  /**
   * Creates or changes a connection (two at once for a new audience cannot collide: the row is created with
   * an insert that ignores a conflict, then changed). Setting status `active` also clears a suspension reason.
   * When the list changes, or the connection forwards again after a removal or suspension, the lists
   * concerned are asked to be brought to the newest state (the old list loses the audience's members, the
   * new one gets them; held changes are released).
   */
  upsert(accountId: number, audienceId: number, update: ConnectionUpdate): Promise<ConnectionView> {
    return this.db.exclusive(() => this.write(accountId, audienceId, update));
  }

  private async write(accountId: number, audienceId: number, update: ConnectionUpdate): Promise<ConnectionView> {
    await ensureConnection(this.db, this.repo.manager, accountId, audienceId, update.audienceName ?? '');
    const entity = await this.repo.findOneByOrFail({ accountId, audienceId });
    const before = { listId: entity.listId, status: entity.status };
    if (update.audienceName !== undefined) entity.audienceName = update.audienceName;
    if (update.listId !== undefined && update.listId !== entity.listId) {
      entity.listId = update.listId;
      entity.overriddenAtMs = Date.now();
    }
    if (update.status !== undefined) {
      entity.status = update.status;
      if (update.status !== 'suspended') entity.suspendedReason = null;
    }
    if (update.heldReason !== undefined && entity.status !== 'suspended') entity.suspendedReason = entity.listId === null ? update.heldReason : null;
    const saved = toView(await this.repo.save(entity));
    const lists = new Set<number>();
    if (before.listId !== saved.listId || (before.status !== 'active' && saved.status === 'active')) {
      for (const listId of [before.listId, saved.listId]) if (listId !== null) lists.add(listId);
    }
    await appendInbox(
      this.db,
      [...lists].map((listId) => ({ listId })),
      this.repo.manager,
    );
    return saved;
  }

  /**
   * The connection as an mParticle subscription message of `timestampMs` states it (newest wins, only
   * mParticle's changes, see applyConnection); `formerListId` (mParticle's previous settings) is brought to
   * the newest state too. Answers the lists to signal.
   */
  applyMparticle(accountId: number, c: IncomingConnection, timestampMs: number, formerListId?: number): Promise<number[]> {
    // One transaction: the connection row stays locked from the read of its list to the inbox rows of a move.
    return this.db.transaction(async (manager) => {
      const { listId, moved } = await applyConnection(this.db, manager, accountId, c, timestampMs);
      const lists = new Set(moved);
      if (listId !== null) lists.add(listId);
      if (formerListId !== undefined && formerListId !== listId && !moved.includes(formerListId)) {
        await appendInbox(this.db, [{ listId: formerListId }], manager);
        lists.add(formerListId);
      }
      return [...lists];
    });
  }

  /** Audiences whose messages name no list: kept without one, their changes held. */
  async hold(accountId: number, audiences: { audienceId: number; audienceName: string }[]): Promise<void> {
    await this.db.exclusive(async () => {
      for (const a of audiences) await ensureConnection(this.db, this.repo.manager, accountId, a.audienceId, a.audienceName);
    });
  }

  async suspend(accountId: number, audienceId: number, reason: string): Promise<void> {
    await this.db.exclusive(() => this.repo.update({ accountId, audienceId }, { status: 'suspended', suspendedReason: reason }));
  }

  /** Forwarding again after a suspension; its list is brought to the newest state. False when there is no such connection. */
  async resume(accountId: number, audienceId: number): Promise<boolean> {
    const existing = await this.repo.findOneBy({ accountId, audienceId });
    if (!existing) return false;
    if (existing.status === 'suspended') await this.upsert(accountId, audienceId, { status: 'active' });
    return true;
  }

  /** Suspends every connection (of any account) that forwards into a list: Iterable said the list does not exist. */
  async suspendListEverywhere(listId: number, reason: string): Promise<void> {
    await this.db.exclusive(() => this.repo.update({ listId, status: 'active' }, { status: 'suspended', suspendedReason: reason }));
  }
}
