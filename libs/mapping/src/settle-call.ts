/** How one Iterable call for a batch of members ended, as the client reported it. */
export type CallOutcome =
  /** Iterable answered 200: a verdict per subscriber (by index), and failures it named no one for. */
  | { kind: 'answered'; verdicts: ({ kind: 'delivered' } | { kind: 'failed'; reason: string })[]; unattributedFailures: number }
  /**
   * The call failed. `unknownOutcome`: we never saw an answer (a timeout, a reset after sending, a 504),
   * so Iterable may still apply it later.
   */
  | {
      kind: 'error';
      errorKind: 'retryable' | 'split' | 'permanent';
      reason: string;
      retryAfterMs?: number;
      /** What Iterable's Retry-After asked for when it was more than we wait (`retryAfterMs` is then the cap). */
      retryAfterAskedMs?: number;
      unknownOutcome: boolean;
    };

/**
 * How many answers `invalidListId` in a row it takes to believe them: a list created a moment ago can answer it
 * for a short while (iterable-api.md §2.4), so the first ones are retried, the list's backoff scaled by
 * UNKNOWN_LIST_BACKOFF_SCALE (with the default 1 s base: 10-20 s, then 20-40 s; the third try about a minute after the first).
 */
export const UNKNOWN_LIST_TRIES = 3;
export const UNKNOWN_LIST_BACKOFF_SCALE = 20;

/** What the list went through before this call. */
export interface ListHistory {
  /** The failed tries in a row just before this call (the list's backoff attempts; 0 when its last call went through). */
  failedTries: number;
}

/** Where a member of the call stands afterwards. */
export interface MemberSettlement {
  /** What the audit says of this user in this call. */
  verdict: 'delivered' | 'failed';
  reason: string | null;
  retryable: boolean;
  /** The member's new `list_members` state; undefined leaves it as it was. */
  state?: 'subscribed' | 'unsubscribed' | 'unknown' | 'failed';
  /** The inbox rows that asked for this member are done with (delivered, or refused for good). */
  done: boolean;
  /** Send the newest state once more after the late-apply window (an answer we never saw). */
  recheck: boolean;
  /**
   * Iterable found the userId on a user with another email (a hybrid or userId-based project after an address
   * change): send this member again by its userId alone, which names that same user.
   */
  resendByUserId?: boolean;
}

/** What happens to the list after the call. */
export type ListAction =
  | { kind: 'continue' }
  /**
   * A transient failure: the list waits (the caller picks the delay from `retryAfterMs` and its backoff, the
   * backoff's base multiplied by `backoffScale` when given).
   */
  | { kind: 'retry'; reason: string; retryAfterMs?: number; backoffScale?: number }
  /**
   * Send the batch again in halves: it was too large, or Iterable answered 409 for it (halving until the
   * conflict lands on its member costs about 2·log2(n) calls for one conflicting member, not n).
   */
  | { kind: 'split' }
  /** Nothing of the list can go out until an operator acts: a bad key suspends the account, an unknown list the list. */
  | { kind: 'suspend'; scope: 'account' | 'list'; reason: string }
  /** Iterable refused the request itself (a bad request): the members are failed, the list goes on. */
  | { kind: 'refused'; reason: string };

export interface CallSettlement {
  members: MemberSettlement[];
  list: ListAction;
}

/** A member Iterable refused with a conflict: sent again by its userId alone when that can name the same user, else failed for good. */
function conflicted(reason: string, byUserIdPossible: boolean): MemberSettlement {
  return byUserIdPossible
    ? { verdict: 'failed', reason, retryable: true, done: false, recheck: false, resendByUserId: true }
    : { verdict: 'failed', reason, retryable: false, state: 'failed', done: true, recheck: false };
}

/**
 * The delivery rules: an Iterable answer (or its absence) for a call of `count` members of one action,
 * turned into per-member settlements and what the list does next. Pure, so every branch is a table row.
 */
export function settleCall(
  action: 'subscribe' | 'unsubscribe',
  count: number,
  outcome: CallOutcome,
  /** Per member: it was sent with an email and a userId, so a conflict can be resolved by the userId alone. */
  byUserIdPossible: readonly boolean[] = [],
  history: ListHistory = { failedTries: 0 },
): CallSettlement {
  const all = (m: MemberSettlement): MemberSettlement[] => Array.from({ length: count }, () => ({ ...m }));
  const confirmed = action === 'subscribe' ? 'subscribed' : 'unsubscribed';
  if (outcome.kind === 'answered') {
    // Iterable counted failures it named no one for: nobody's success is certain; send them all again.
    const unsure = outcome.unattributedFailures > 0;
    const members = outcome.verdicts.map((v, index): MemberSettlement => {
      if (v.kind === 'failed' && v.reason === 'conflict') return conflicted(v.reason, byUserIdPossible[index] === true);
      if (v.kind === 'failed') return { verdict: 'failed', reason: v.reason, retryable: false, state: 'failed', done: true, recheck: false };
      if (unsure) return { verdict: 'failed', reason: 'unattributed failure', retryable: true, state: 'unknown', done: false, recheck: false };
      return { verdict: 'delivered', reason: null, retryable: false, state: confirmed, done: true, recheck: false };
    });
    return { members, list: unsure ? { kind: 'retry', reason: 'unattributed failure' } : { kind: 'continue' } };
  }
  const failed = (retryable: boolean, extra: Partial<MemberSettlement> = {}): MemberSettlement[] =>
    all({ verdict: 'failed', reason: outcome.reason, retryable, done: false, recheck: false, ...extra });
  switch (outcome.errorKind) {
    case 'retryable':
      return {
        members: outcome.unknownOutcome ? failed(true, { state: 'unknown', recheck: true }) : failed(true),
        list: { kind: 'retry', reason: outcome.reason, ...(outcome.retryAfterMs === undefined ? {} : { retryAfterMs: outcome.retryAfterMs }) },
      };
    case 'split':
      return count > 1 ? { members: [], list: { kind: 'split' } } : { members: failed(false, { state: 'failed', done: true }), list: { kind: 'continue' } };
    case 'permanent':
      // A 409 for the whole call: halves until the conflict lands on the member it is about.
      if (outcome.reason === 'conflict') {
        return count > 1
          ? { members: [], list: { kind: 'split' } }
          : { members: [conflicted(outcome.reason, byUserIdPossible[0] === true)], list: { kind: 'continue' } };
      }
      // A list created a moment ago can answer invalidListId: believed on the UNKNOWN_LIST_TRIES-th answer in a row.
      if (outcome.reason === 'unknown list' && history.failedTries < UNKNOWN_LIST_TRIES - 1) {
        return { members: failed(true), list: { kind: 'retry', reason: outcome.reason, backoffScale: UNKNOWN_LIST_BACKOFF_SCALE } };
      }
      if (outcome.reason === 'bad api key' || outcome.reason === 'unknown list') {
        return { members: failed(false), list: { kind: 'suspend', scope: outcome.reason === 'bad api key' ? 'account' : 'list', reason: outcome.reason } };
      }
      return { members: failed(false, { state: 'failed', done: true }), list: { kind: 'refused', reason: outcome.reason } };
  }
}

/** The call's error as the audit records it: the reason, and a Retry-After we capped (what Iterable asked for). */
export function describeCallError(outcome: CallOutcome): string | null {
  if (outcome.kind === 'answered') return null;
  if (outcome.retryAfterAskedMs === undefined || outcome.retryAfterMs === undefined) return outcome.reason;
  const seconds = (ms: number): string => `${Math.round(ms / 1000)} s`;
  return `${outcome.reason} (Retry-After ${seconds(outcome.retryAfterAskedMs)} capped to ${seconds(outcome.retryAfterMs)})`;
}
