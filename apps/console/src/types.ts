// The admin API's answers, as the console reads them (see /docs for the full shapes).

export type SummaryWindow = 'hour' | 'day';

export interface Totals {
  adds: number;
  removes: number;
  failed: number;
  calls: number;
  failedCalls: number;
  dryRunCalls: number;
}

export interface Bucket extends Totals {
  start: string;
}

export interface Summary {
  window: SummaryWindow;
  bucketMs: number;
  from: string;
  to: string;
  buckets: Bucket[];
  totals: Totals;
  pending: number;
  oldestPendingAgeMs: number | null;
  failingLists: number;
  failingSince: string | null;
  heldWithoutList: number;
  rate: { limitPerSecond: number; lastMinutePerSecond: number; peakPerSecond: number; peakAccountId: number | null };
  generatedAt: string;
}

export type ConnectionStatus = 'active' | 'suspended' | 'removed' | 'dry-run' | 'held';

export interface ConnectionRow {
  accountId: number;
  audienceId: number;
  audienceName: string;
  listId: number | null;
  status: ConnectionStatus;
  connectionStatus: string;
  accountStatus: string;
  reason: string | null;
  suspendedBy: 'account' | 'connection' | null;
  dryRun: boolean;
  userIdField: string | null;
  apiKeyLast4: string | null;
  lastSuccessAt: string | null;
  last24h: { adds: number; removes: number; failed: number };
  held: number;
  pending: number;
  oldestPendingAgeMs: number | null;
  listMembers: number;
  failedMembers: number;
  failing: { since: string; attempts: number; nextAttemptAt: string | null; lastError: string | null } | null;
}

export interface Connections {
  items: ConnectionRow[];
  generatedAt: string;
}

export const DELIVERY_STATUSES = ['success', 'partial', 'failed', 'dry-run'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export interface Delivery {
  id: string;
  time: string;
  accountId: number;
  listId: number;
  action: string;
  subscriberCount: number;
  httpStatus: number | null;
  successCount: number;
  failureCount: number;
  durationMs: number;
  error: string | null;
  dryRun: boolean;
}

export interface DeliveryPage {
  items: Delivery[];
  nextCursor: string | null;
}

export interface CallVerdict {
  audienceId: number;
  mpid: string | null;
  userKey: string;
  email: string | null;
  userId: string | null;
  action: string;
  outcome: string;
  reason: string | null;
  retryable: boolean;
}

export interface DeliveryDetail extends Omit<Delivery, 'error'> {
  errorSample: string | null;
  failureReasons: { reason: string; count: number }[];
  audienceIds: number[];
  verdicts: CallVerdict[];
  verdictsTruncated: boolean;
}

export interface Verdict {
  time: string;
  callId: string;
  accountId: number;
  audienceId: number;
  listId: number;
  action: string;
  outcome: string;
  reason: string | null;
  retryable: boolean;
}

export interface UserMembership {
  accountId: number;
  audienceId: number;
  audienceName: string | null;
  listId: number | null;
  mpid: string | null;
  userKey: string;
  desired: { action: 'add' | 'delete'; email: string | null; userId: string | null; skipReason: string | null; timestampMs: number; sourceMessageId: string };
  iterable: { state: string; email: string; userId: string | null; reason: string | null; updatedAt: string } | null;
  state: string;
  history: Verdict[];
}

export type LookupKind = 'email' | 'mpid' | 'customerId';

export interface UserLookup {
  by: LookupKind;
  value: string;
  memberships: UserMembership[];
}

export interface ReplayFilter {
  accountId?: number;
  audienceId?: number;
  listId?: number;
}

export interface ReplayAnswer {
  requeued: number;
  lists: number;
  listIds?: number[];
  preview?: boolean;
}

export interface Account {
  accountId: number;
  /** The last 4 characters of the Iterable API key; the key itself is never answered. */
  apiKeyLast4: string | null;
  userIdField: string;
  dataCenter: string;
  dryRun: boolean;
  status: string;
  suspendedReason: string | null;
  overriddenAt: string | null;
  createdAt: string;
  updatedAt: string;
}

/** The newest drift check of one list (GET /v1/accounts/:id/drift-checks). */
export interface DriftReport {
  id: number;
  accountId: number;
  listId: number;
  state: 'running' | 'done' | 'failed' | string;
  phase: string | null;
  repair: boolean;
  trigger: string;
  identifier: string;
  requestedAt: string;
  startedAt: string | null;
  checkedAt: string | null;
  finishedAt: string | null;
  iterableMembers: number | null;
  desiredMembers: number | null;
  missing: number;
  extra: number;
  repaired: number;
  /** Which extras a repair removes: ours (only members this service once subscribed) or all; null for older checks. */
  repairExtras?: 'ours' | 'all' | null;
  /** Extra members a repair left on the list: this service never subscribed them. */
  extraKept?: number;
  leftOut: number;
  refused: number;
  missingSample: string[];
  extraSample: string[];
  settleMs: number;
  error: string | null;
  /** POST only: a check of this list was running already. */
  alreadyRunning?: boolean;
}

export interface DriftReports {
  items: DriftReport[];
}
