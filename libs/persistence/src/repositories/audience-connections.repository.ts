import { Injectable } from '@nestjs/common';
import type { ConnectionStatus } from '@audience-bridge/domain';
import { Database } from '../database';
import { AudienceConnectionEntity } from '../entities';

export interface ConnectionView {
  accountId: number;
  audienceId: number;
  audienceName: string;
  listId: number | null;
  status: ConnectionStatus;
  suspendedReason: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface ConnectionUpdate {
  audienceName?: string;
  listId?: number;
  status?: ConnectionStatus;
}

function toView(e: AudienceConnectionEntity): ConnectionView {
  return {
    accountId: e.accountId,
    audienceId: e.audienceId,
    audienceName: e.audienceName,
    listId: e.listId,
    status: e.status,
    suspendedReason: e.suspendedReason,
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

  async listIdOf(accountId: number, audienceId: number): Promise<number | undefined> {
    return (await this.repo.findOneBy({ accountId, audienceId }))?.listId ?? undefined;
  }

  /** Creates or changes a connection. Setting status `active` also clears a suspension reason. */
  upsert(accountId: number, audienceId: number, update: ConnectionUpdate): Promise<ConnectionView> {
    return this.db.exclusive(() => this.write(accountId, audienceId, update));
  }

  private async write(accountId: number, audienceId: number, update: ConnectionUpdate): Promise<ConnectionView> {
    const entity =
      (await this.repo.findOneBy({ accountId, audienceId })) ??
      this.repo.create({ accountId, audienceId, audienceName: '', listId: null, status: 'active', suspendedReason: null });
    if (update.audienceName !== undefined) entity.audienceName = update.audienceName;
    if (update.listId !== undefined) entity.listId = update.listId;
    if (update.status !== undefined) {
      entity.status = update.status;
      if (update.status !== 'suspended') entity.suspendedReason = null;
    }
    return toView(await this.repo.save(entity));
  }

  async suspend(accountId: number, audienceId: number, reason: string): Promise<void> {
    await this.db.exclusive(() => this.repo.update({ accountId, audienceId }, { status: 'suspended', suspendedReason: reason }));
  }

  /** Suspends every connection of an account that forwards into a list (Iterable said the list does not exist). */
  async suspendList(accountId: number, listId: number, reason: string): Promise<void> {
    await this.db.exclusive(() => this.repo.update({ accountId, listId }, { status: 'suspended', suspendedReason: reason }));
  }

  /** Whether any connection of the account that forwards into this list is suspended. */
  async isListSuspended(accountId: number, listId: number): Promise<boolean> {
    return (await this.repo.countBy({ accountId, listId, status: 'suspended' })) > 0;
  }

  async resume(accountId: number, audienceId: number): Promise<boolean> {
    const result = await this.db.exclusive(() => this.repo.update({ accountId, audienceId, status: 'suspended' }, { status: 'active', suspendedReason: null }));
    if ((result.affected ?? 0) > 0) return true;
    return (await this.repo.findOneBy({ accountId, audienceId })) !== null;
  }
}
