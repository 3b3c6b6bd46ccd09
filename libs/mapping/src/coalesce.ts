import { MembershipChange, supersedes } from '@audience-bridge/domain';

/** The key under which changes compete: one user on one list of one account. */
export function listUserKey(change: Pick<MembershipChange, 'accountId' | 'listId' | 'userKey'>): string {
  return `${change.accountId}|${change.listId}|${change.userKey}`;
}

/**
 * Keeps, per (account, list, user), the one change that wins under the domain's newest-wins rule
 * (`supersedes`): the greatest `timestampMs`; on a tie `delete` over `add`, then the greater message id.
 * The result does not depend on the order the changes arrived in; it comes back sorted by key.
 */
export function coalesce<T extends MembershipChange>(changes: readonly T[]): T[] {
  const winners = new Map<string, T>();
  for (const change of changes) {
    const key = listUserKey(change);
    const current = winners.get(key);
    if (current === undefined || supersedes(change, current)) winners.set(key, change);
  }
  return [...winners.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, change]) => change);
}
