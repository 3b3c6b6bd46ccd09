/** Which mParticle identity becomes Iterable's `userId` (mParticle's "User ID" setting). */
export const USER_ID_FIELDS = ['customerId', 'mpid'] as const;
export type UserIdField = (typeof USER_ID_FIELDS)[number];
export const DEFAULT_USER_ID_FIELD: UserIdField = 'customerId';

/** The Iterable data center an API key belongs to. */
export const DATA_CENTERS = ['US', 'EU'] as const;
export type DataCenter = (typeof DATA_CENTERS)[number];
export const DEFAULT_DATA_CENTER: DataCenter = 'US';

export const ACCOUNT_STATUSES = ['active', 'suspended'] as const;
export type AccountStatus = (typeof ACCOUNT_STATUSES)[number];

/** The settings every delivery for one account needs. */
export interface AccountSettings {
  userIdField: UserIdField;
  dataCenter: DataCenter;
}

/** One mParticle account connected to one Iterable project. */
export interface Account extends AccountSettings {
  /** mParticle's `account.account_id`. */
  accountId: number;
  /** The Iterable server-side API key, in plain text: only ever held in memory. */
  iterableApiKey: string;
  status: AccountStatus;
  /** Why the account is suspended (for example a rejected API key); absent while active. */
  suspendedReason?: string;
  /** When true the worker records what it would send and sends nothing. */
  dryRun: boolean;
}

export function isUserIdField(value: unknown): value is UserIdField {
  return typeof value === 'string' && (USER_ID_FIELDS as readonly string[]).includes(value);
}

export function isDataCenter(value: unknown): value is DataCenter {
  return typeof value === 'string' && (DATA_CENTERS as readonly string[]).includes(value);
}
