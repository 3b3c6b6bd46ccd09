/** What mParticle asks for one user in one audience. `attribute_update` changes no membership and never becomes one. */
export const MEMBERSHIP_ACTIONS = ['add', 'delete'] as const;
export type MembershipAction = (typeof MEMBERSHIP_ACTIONS)[number];

/** The identifiers Iterable receives for one user. */
export interface Subscriber {
  email: string;
  userId?: string;
}

/**
 * One user's desired membership of one audience's list, as mParticle stated it in one message.
 * `subscriber` is absent when the user cannot be sent (then `skipReason` says why).
 */
export interface MembershipChange {
  accountId: number;
  audienceId: number;
  /** The audience's list, or null when neither the message nor a stored connection names one (the change is held). */
  listId: number | null;
  /** Stable key of the user within the account: the mpid when mParticle shares it. */
  userKey: string;
  mpid?: string;
  action: MembershipAction;
  subscriber?: Subscriber;
  skipReason?: SkipReason;
  /** The `id` of the mParticle message that carried the change. */
  sourceMessageId: string;
  /** The `timestamp_ms` of that message: the newest change per (account, audience, user) wins. */
  timestampMs: number;
}

/** Why a change is recorded but not sent to Iterable. */
export const SKIP_REASONS = {
  missingEmail: 'missing email',
  invalidEmail: 'invalid email',
  invalidUserId: 'invalid userId',
  missingMpid: 'missing mpid',
  missingListId: 'missing listId',
  dryRun: 'dry run',
} as const;
export type SkipReason = (typeof SKIP_REASONS)[keyof typeof SKIP_REASONS];

/**
 * Newest wins. Does `candidate` replace `current` as the desired state of the same (list or audience, user)?
 *
 * 1. The greater `timestampMs` wins.
 * 2. On equal timestamps `delete` beats `add`: when mParticle said both at the same instant the user is
 *    kept off the list rather than left on it.
 * 3. On equal timestamp and action the greater `sourceMessageId` (plain string order) wins, so the result
 *    never depends on arrival order.
 * 4. The same message again (equal id) changes nothing.
 */
export function supersedes(
  candidate: Pick<MembershipChange, 'timestampMs' | 'action' | 'sourceMessageId'>,
  current: Pick<MembershipChange, 'timestampMs' | 'action' | 'sourceMessageId'>,
): boolean {
  if (candidate.timestampMs !== current.timestampMs) return candidate.timestampMs > current.timestampMs;
  if (candidate.action !== current.action) return candidate.action === 'delete';
  return candidate.sourceMessageId > current.sourceMessageId;
}
