import type { MembershipAction, Subscriber } from '@audience-bridge/domain';

/**
 * One membership row that names a member of a list: a user of an audience whose connection maps to the
 * list. A removed audience's rows count too: a change acknowledged before the removal is still delivered,
 * and the removal itself takes nobody off the list.
 */
export interface MemberContribution {
  memberKey: string;
  accountId: number;
  audienceId: number;
  userKey: string;
  mpid: string | null;
  action: MembershipAction;
  email: string;
  userId: string | null;
  timestampMs: number;
  sourceMessageId: string;
}

/** What we know Iterable has for a member of a list (`list_members`). */
export interface KnownMember {
  email: string;
  userId: string | null;
  state: 'subscribed' | 'unsubscribed' | 'unknown' | 'failed';
  /** Why the member is as it is (a failure, `sent by userId (conflict)`, or `drift repair` while a repair waits). */
  reason?: string | null;
}

/** What one member of a list needs now. */
export type MemberPlan =
  | { kind: 'subscribe'; subscriber: Subscriber; source: MemberContribution }
  | { kind: 'unsubscribe'; subscriber: Subscriber; source?: MemberContribution }
  /** Iterable already has what the newest state asks (or there is nothing we could send). */
  | { kind: 'settled' };

const newestFirst = (a: MemberContribution, b: MemberContribution): number =>
  b.timestampMs - a.timestampMs || (a.sourceMessageId < b.sourceMessageId ? 1 : a.sourceMessageId > b.sourceMessageId ? -1 : 0);

const subscriberOf = (who: { email: string; userId: string | null }): Subscriber =>
  who.userId ? { email: who.email, userId: who.userId } : { email: who.email };

/**
 * The rule of a list: it holds a member exactly when some audience that maps to it has the member's newest
 * change as an add. Audiences sharing a list, and users sharing an email, are one member.
 * - Some add: subscribe with the newest add's identity, unless Iterable already has exactly that.
 * - Otherwise, if Iterable may have the member: unsubscribe the identity it has.
 * - Never sent and now deleted: unsubscribe anyway (cheap, idempotent, and what a delete means to users).
 */
export function planMember(contributions: readonly MemberContribution[], known: KnownMember | undefined): MemberPlan {
  const sorted = [...contributions].sort(newestFirst);
  const add = sorted.find((c) => c.action === 'add');
  if (add) {
    const subscriber = subscriberOf(add);
    const same = known?.state === 'subscribed' && known.email === subscriber.email && (known.userId ?? undefined) === subscriber.userId;
    return same ? { kind: 'settled' } : { kind: 'subscribe', subscriber, source: add };
  }
  const mayBeThere = known !== undefined && (known.state === 'subscribed' || known.state === 'unknown');
  const deletion = sorted.find((c) => c.action === 'delete');
  if (mayBeThere) return { kind: 'unsubscribe', subscriber: subscriberOf(known), ...(deletion ? { source: deletion } : {}) };
  if (known === undefined && deletion) return { kind: 'unsubscribe', subscriber: subscriberOf(deletion), source: deletion };
  return { kind: 'settled' };
}
