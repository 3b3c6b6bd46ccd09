import { Injectable } from '@nestjs/common';
import type { Account, DataCenter, UserIdField } from '@audience-bridge/domain';
import { ApiKeyCipher, last4 } from '../crypto/api-key-cipher';
import { Database } from '../database';
import { AccountEntity } from '../entities';
import { IncomingAccountSettings, applyAccountSettings, reconcileLists } from './mparticle-settings';

/** What any read shows of an account: never the key, at most its last 4 characters. */
export interface AccountView {
  accountId: number;
  apiKeyLast4: string | null;
  userIdField: UserIdField;
  dataCenter: DataCenter;
  status: Account['status'];
  suspendedReason: string | null;
  dryRun: boolean;
  /** When an operator last changed a setting mParticle owns; null when mParticle's own settings are in force. */
  overriddenAt: string | null;
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
    overriddenAt: entity.overriddenAtMs ? new Date(entity.overriddenAtMs).toISOString() : null,
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
      iterableApiKey: entity.apiKeyCiphertext ? this.cipher.decrypt(entity.apiKeyCiphertext, entity.accountId) : '',
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
    // Created by an insert that ignores a conflict, then changed: two first messages at once cannot collide.
    await this.db.query(
      `INSERT INTO accounts (account_id, user_id_field, data_center, status, dry_run, created_at, updated_at)
       VALUES (?, 'customerId', 'US', 'active', ?, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP) ON CONFLICT (account_id) DO NOTHING`,
      [accountId, false],
      this.repo.manager,
    );
    const entity = await this.repo.findOneByOrFail({ accountId });
    const wasDryRun = Boolean(entity.dryRun);
    const keyChanged = update.apiKey !== undefined && entity.apiKeyFingerprint !== this.cipher.fingerprint(update.apiKey);
    if (update.apiKey !== undefined) {
      entity.apiKeyCiphertext = this.cipher.encrypt(update.apiKey, accountId);
      entity.apiKeyFingerprint = this.cipher.fingerprint(update.apiKey);
      entity.apiKeyLast4 = last4(update.apiKey);
    }
    if (update.userIdField !== undefined) entity.userIdField = update.userIdField;
    if (update.dataCenter !== undefined) entity.dataCenter = update.dataCenter;
    if (update.dryRun !== undefined) entity.dryRun = update.dryRun;
    // A setting mParticle owns, changed by an operator: an override that holds until mParticle's own value changes.
    if (update.apiKey !== undefined || update.userIdField !== undefined || update.dataCenter !== undefined) entity.overriddenAtMs = Date.now();
    // A new key for an account suspended for a bad key lifts the suspension by itself.
    if (keyChanged && entity.status === 'suspended' && entity.suspendedReason?.startsWith('bad api key')) {
      entity.status = 'active';
      entity.suspendedReason = null;
    }
    const saved = toAccountView(await this.repo.save(entity));
    // Going live after a dry run, or a key that works again: every list of the account to the newest state.
    if ((wasDryRun && !saved.dryRun) || (keyChanged && saved.status === 'active')) await reconcileLists(this.db, this.repo.manager, accountId);
    return saved;
  }

  /** Settings from an mParticle message of `timestampMs`: newest wins, only mParticle's changes (see applyAccountSettings). */
  applyMparticle(accountId: number, settings: IncomingAccountSettings, timestampMs: number): Promise<{ applied: boolean; keyChanged: boolean }> {
    return this.db.transaction(async (manager) => {
      const { applied, keyChanged } = await applyAccountSettings(this.db, this.cipher, manager, accountId, settings, timestampMs);
      return { applied, keyChanged };
    });
  }

  /**
   * Suspends the account for a key Iterable refused, only while that key is still the account's: a new key that
   * arrived while the refused call was in flight must not be suspended with it (the model checker found this:
   * the account stayed suspended with a good key). Answers whether it suspended.
   */
  async suspendForKey(accountId: number, apiKey: string, reason: string): Promise<boolean> {
    const { affected } = await this.db.execute(
      `UPDATE accounts SET status = 'suspended', suspended_reason = ?, updated_at = CURRENT_TIMESTAMP WHERE account_id = ? AND api_key_fingerprint = ?`,
      [reason, accountId, this.cipher.fingerprint(apiKey)],
    );
    return affected > 0;
  }

  async suspend(accountId: number, reason: string): Promise<void> {
    await this.db.exclusive(() => this.repo.update({ accountId }, { status: 'suspended', suspendedReason: reason }));
  }

  /** Active again, every list of the account brought to the newest state; false when there is no such account. */
  async resume(accountId: number): Promise<boolean> {
    return this.db.exclusive(async () => {
      const result = await this.repo.update({ accountId }, { status: 'active', suspendedReason: null });
      if ((result.affected ?? 0) === 0) return false;
      await reconcileLists(this.db, this.repo.manager, accountId);
      return true;
    });
  }
}
