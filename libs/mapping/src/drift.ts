import { normalizeEmail } from './identity';

/** The reason a drift repair's verdicts carry in the audit (`delivery_verdicts.reason`, ≤ 32 characters). */
export const DRIFT_REPAIR_REASON = 'drift repair';

/**
 * The member key of a list member we only know by the userId Iterable's list read named (a userId-keyed
 * project, a stranger): it has no email, so its repair is sent by the userId alone. No email looks like it.
 */
export const USER_ID_MEMBER_PREFIX = 'userId:';

/** What a list read names its members by. */
export type DriftIdentifierKind = 'email' | 'userId';

/** Everything known about one identifier of a list, gathered from Iterable's read and from the database. */
export interface DriftFacts {
  /** Iterable's list read names it. */
  onList: boolean;
  /** The newest desired state puts it on the list (some audience mapped to the list has its newest change as an add). */
  desired: boolean;
  /** Its change is pending (an inbox row), unanswered (`unknown`, a recheck due) or was delivered within the settle window. */
  inFlight: boolean;
  /** Iterable refused it for good (`failed`: invalid, forgotten, conflict…): known and replayable, not drift. */
  refused: boolean;
}

/**
 * - `match`: Iterable has what the desired state asks.
 * - `missing`: should be on the list and is not; `extra`: is on the list and should not be.
 * - `left out`: differs, but a change of it is in flight: Iterable's reads lag its writes, so no verdict.
 * - `refused`: should be on the list, and Iterable refused it for good (the audit has why; replay sends it again).
 */
export type DriftVerdict = 'match' | 'missing' | 'extra' | 'left out' | 'refused';

export function driftVerdict(facts: DriftFacts): DriftVerdict {
  if (facts.onList === facts.desired) return 'match';
  if (facts.inFlight) return 'left out';
  if (facts.desired) return facts.refused ? 'refused' : 'missing';
  return 'extra';
}

/** An identifier as Iterable's read gives it, as we compare it: emails trimmed and lower-cased (as Iterable stores them), userIds as they are. */
export function driftKeyOfLine(line: string, kind: DriftIdentifierKind): string {
  return kind === 'email' ? normalizeEmail(line) : line.trim();
}

/** One add of a member by one audience: the identity it carries and how new it is. */
export interface DesiredAdd {
  userId: string | null;
  timestampMs: number;
  sourceMessageId: string;
}

/** The add that decides a member's identity: the newest (`timestamp_ms`, then the greater message id), as `planMember` picks it. */
export function newestAdd<T extends DesiredAdd>(adds: readonly T[]): T | undefined {
  let best: T | undefined;
  for (const add of adds) {
    if (!best || add.timestampMs > best.timestampMs || (add.timestampMs === best.timestampMs && add.sourceMessageId > best.sourceMessageId)) best = add;
  }
  return best;
}

/**
 * Where a repair of one identifier goes: the list member to mark and bring to its newest state. An email is its
 * own member key. In userId mode a member we know by email is repaired by that email; a userId we know
 * nothing of becomes a member of its own, sent by the userId alone; an email-looking identifier (a user without
 * a userId) by that email.
 */
export function repairMemberOf(key: string, kind: DriftIdentifierKind, knownEmail?: string): { memberKey: string; email: string; userId: string | null } {
  if (knownEmail !== undefined) return { memberKey: knownEmail, email: knownEmail, userId: kind === 'userId' && key !== knownEmail ? key : null };
  if (kind === 'email' || key.includes('@')) {
    const email = normalizeEmail(key);
    return { memberKey: email, email, userId: null };
  }
  return { memberKey: `${USER_ID_MEMBER_PREFIX}${key}`, email: '', userId: key };
}
