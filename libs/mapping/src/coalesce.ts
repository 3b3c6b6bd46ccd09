import { MembershipChange, supersedes } from '@audience-bridge/domain';

/** The key under which changes compete: one user on one list of one account. */
export function listUserKey(change: Pick<MembershipChange, 'accountId' | 'listId' | 'userKey'>): string {
  return `${change.accountId}|${change.listId}|${change.userKey}`;
}

/** The key of the desired state: one user in one audience of one account. */
export function audienceUserKey(change: Pick<MembershipChange, 'accountId' | 'audienceId' | 'userKey'>): string {
  return `${change.accountId}|${change.audienceId}|${change.userKey}`;
}

/**
 * Keeps, per key (by default per account, list and user), the one change that wins under the domain's
 * newest-wins rule (`supersedes`): the greatest `timestampMs`; on a tie `delete` over `add`, then the
 * greater message id. The result does not depend on the order the changes arrived in; it comes back
 * sorted by key.
 */
export function coalesce<T extends MembershipChange>(changes: readonly T[], keyOf: (change: T) => string = listUserKey): T[] {
  const winners = new Map<string, T>();
  for (const change of changes) {
    const key = keyOf(change);
    const current = winners.get(key);
    if (current === undefined || supersedes(change, current)) winners.set(key, change);
  }
  return [...winners.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, change]) => change);
}
