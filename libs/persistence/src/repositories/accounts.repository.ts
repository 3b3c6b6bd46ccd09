import { Injectable } from '@nestjs/common';
import type { Account, DataCenter, UserIdField } from '@audience-bridge/domain';
import { ApiKeyCipher, last4 } from '../crypto/api-key-cipher';
import { Database } from '../database';
import { AccountEntity } from '../entities';

/** What any read shows of an account: never the key, at most its last 4 characters. */
export interface AccountView {
  accountId: number;
  apiKeyLast4: string | null;
  userIdField: UserIdField;
  dataCenter: DataCenter;
  status: Account['status'];
  suspendedReason: string | null;
  dryRun: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface AccountUpdate {
  apiKey?: string;
  userIdField?: UserIdField;
  dataCenter?: DataCenter;
  dryRun?: boolean;
}

export function toAccountView(entity: AccountEntity): AccountView {
  return {
    accountId: entity.accountId,
    apiKeyLast4: entity.apiKeyLast4,
    userIdField: entity.userIdField,
    dataCenter: entity.dataCenter,
    status: entity.status,
    suspendedReason: entity.suspendedReason,
    dryRun: Boolean(entity.dryRun),
    createdAt: entity.createdAt,
    updatedAt: entity.updatedAt,
  };
}

@Injectable()
export class AccountsRepository {
  constructor(
    private readonly db: Database,
    private readonly cipher: ApiKeyCipher,
  ) {}

  private get repo() {
    return this.db.dataSource.getRepository(AccountEntity);
  }

  async find(accountId: number): Promise<AccountView | null> {
    const entity = await this.repo.findOneBy({ accountId });
    return entity ? toAccountView(entity) : null;
  }

  /** The account with its key decrypted, for the worker only. */
  async findForDelivery(accountId: number): Promise<Account | null> {
    const entity = await this.repo.findOneBy({ accountId });
    if (!entity) return null;
    return {
      accountId: entity.accountId,
      iterableApiKey: entity.apiKeyCiphertext ? this.cipher.decrypt(entity.apiKeyCiphertext) : '',
      userIdField: entity.userIdField,
      dataCenter: entity.dataCenter,
      status: entity.status,
      ...(entity.suspendedReason ? { suspendedReason: entity.suspendedReason } : {}),
      dryRun: Boolean(entity.dryRun),
    };
  }

  /** Creates the account (with defaults for what is not given) or changes the given fields. */
  upsert(accountId: number, update: AccountUpdate): Promise<AccountView> {
    return this.db.exclusive(() => this.write(accountId, update));
  }

  private async write(accountId: number, update: AccountUpdate): Promise<AccountView> {
    const existing = await this.repo.findOneBy({ accountId });
    const entity = existing ?? this.repo.create({ accountId, userIdField: 'customerId', dataCenter: 'US', status: 'active', dryRun: false, suspendedReason: null });
    if (update.apiKey !== undefined) {
      entity.apiKeyCiphertext = this.cipher.encrypt(update.apiKey);
      entity.apiKeyFingerprint = this.cipher.fingerprint(update.apiKey);
      entity.apiKeyLast4 = last4(update.apiKey);
    }
    if (update.userIdField !== undefined) entity.userIdField = update.userIdField;
    if (update.dataCenter !== undefined) entity.dataCenter = update.dataCenter;
    if (update.dryRun !== undefined) entity.dryRun = update.dryRun;
    return toAccountView(await this.repo.save(entity));
  }

  async suspend(accountId: number, reason: string): Promise<void> {
    await this.db.exclusive(() => this.repo.update({ accountId }, { status: 'suspended', suspendedReason: reason }));
  }

  /** Active again; returns false when there is no such account. */
  async resume(accountId: number): Promise<boolean> {
    const result = await this.db.exclusive(() => this.repo.update({ accountId }, { status: 'active', suspendedReason: null }));
    return (result.affected ?? 0) > 0;
  }
}
