import type { History, HistoryEvent, Mode } from './history';

/**
 * The reference model: what Iterable must hold once everything acknowledged has settled, as a pure function of
 * the history and which deliveries were acknowledged. Written from the rules README states ("The rules lists
 * follow", "What a 200 means"), not from libs/mapping: a second, independent implementation of them.
 *
 * - A message id counts once (the first acknowledged delivery); repeats change nothing.
 * - Per (account, audience, user) the change with the greatest `timestamp_ms` is the desired state.
 * - An audience's list is the one named by the newest message that names one (subscription or membership); a
 *   listId that is not a positive integer names none (the audience's changes still count, on its list in force).
 * - A list holds an email exactly when the newest change of some audience mapped to it adds that email, with the
 *   identity of the newest such change: Customer ID mode {email, customer id}, mParticle ID mode {email or
 *   `<mpid>@placeholder.email`, mpid}.
 * - In a hybrid project the userId names the Iterable user (README "An identity changes"): a list holds a userId
 *   exactly when the newest change of some audience mapped to it adds a profile with that userId; which email the
 *   user shows is not predicted (a re-addressed user keeps the one Iterable first had; one whose email another
 *   user holds is sent by userId alone).
 * - An audience connected without a listId gets one list of its own (a retried subscription makes no second one).
 * - An account's key is the one of its newest message; an account whose newest key Iterable refuses cannot
 *   deliver (its lists are not predicted).
 * - Forwarded attributes (README "User attributes"): per (account, user, field) the upsert of the newest message
 *   (then the greater message id) is the user's field in Iterable.
 * - Erasure (README "Erasure"): a change of the subject (their email, customer id or mpid) stamped at or before
 *   the erasure counts for nothing; the subject is forgotten at Iterable, which refuses them from then on, so they
 *   are on no list of the project whatever came after. Nothing of them is stored unless a change stamped after
 *   the erasure (a new consent) was acknowledged.
 */
export interface Expected {
  /** List slot → member → userId: members named by email (email-based projects) or by userId (hybrid; the value is then ''). */
  lists: Map<string, Map<string, string>>;
  /** How a list slot's members are named: `userId` in hybrid projects, else `email`. */
  memberKey: Map<string, 'email' | 'userId'>;
  /** Accounts whose newest key is not one Iterable accepts. */
  undeliverable: Set<number>;
  /** Forwarded attributes Iterable must hold: account → email → field → value (newest per user and field). */
  fields: Map<number, Map<string, Map<string, string>>>;
  /** Acknowledged erasures: who, and whether a change of theirs stamped after it came (then they may be stored). */
  erased: { accountId: number; email: string; customerId?: string; newConsent: boolean }[];
}

export function expectedState(history: History, acknowledged: ReadonlySet<number>): Expected {
  const accepted = history.events.map((e, i) => ({ e, i })).filter(({ i }) => acknowledged.has(i));
  const modeOf = new Map<number, Mode>(history.accounts.map((a) => [a.accountId, a.mode]));

  const newest = <T extends { at: number }>(map: Map<string, T>, key: string, value: T) => {
    const held = map.get(key);
    if (!held || value.at > held.at) map.set(key, value);
  };
  const lists = new Map<string, { at: number; list: string }>();
  const keys = new Map<string, { at: number; key: string }>();
  const wants = new Map<string, { at: number; action: 'add' | 'delete'; email: string; userId: string; accountId: number; audienceId: number }>();

  const erasures = accepted.flatMap(({ e }) => (e.kind === 'erasure' ? [e] : []));
  const erasedBy = (accountId: number, p: { mpid: string; email?: string; customerId?: string }, at: number) =>
    erasures.some(
      (x) =>
        x.accountId === accountId &&
        at <= x.at &&
        (p.mpid === x.mpid || p.email?.toLowerCase() === x.email.toLowerCase() || (x.customerId !== undefined && p.customerId === x.customerId)),
    );
  const forgotten = new Set(erasures.map((x) => `${x.accountId}:${x.email.toLowerCase()}`));

  const attributes = new Map<string, { at: number; id: string; accountId: number; email: string; key: string; value: string }>();
  for (const { e } of accepted) {
    newest(keys, String(e.accountId), { at: e.at, key: e.apiKey });
    if (e.kind === 'membership') {
      for (const p of e.profiles) {
        if (!p.email || erasedBy(e.accountId, p, e.at)) continue;
        for (const { key, value } of p.attributes ?? []) {
          const slot = `${e.accountId}:${p.mpid}:${key}`;
          const held = attributes.get(slot);
          if (!held || e.at > held.at || (e.at === held.at && e.id > held.id)) {
            attributes.set(slot, { at: e.at, id: e.id, accountId: e.accountId, email: p.email.toLowerCase(), key, value });
          }
        }
      }
    }
    if (e.kind === 'erasure') continue;
    if (e.kind === 'subscription') {
      newest(lists, `${e.accountId}:${e.audienceId}`, { at: e.at, list: e.list });
      continue;
    }
    for (const p of e.profiles) {
      for (const a of p.audiences) {
        if (a.list !== 'malformed') newest(lists, `${e.accountId}:${a.audienceId}`, { at: e.at, list: a.list });
        const identity = identityOf(modeOf.get(e.accountId) ?? 'customerId', p);
        if (!identity || erasedBy(e.accountId, p, e.at)) continue;
        newest(wants, `${e.accountId}:${a.audienceId}:${p.mpid}`, {
          at: e.at,
          action: a.action,
          ...identity,
          accountId: e.accountId,
          audienceId: a.audienceId,
        });
      }
    }
  }

  const undeliverable = new Set<number>();
  for (const a of history.accounts) if (keys.get(String(a.accountId))?.key !== a.apiKey) undeliverable.add(a.accountId);

  const result = new Map<string, Map<string, { at: number; userId: string }>>();
  const memberKey = new Map<string, 'email' | 'userId'>();
  for (const a of history.accounts) {
    for (const l of [...a.lists, ...(a.created ?? [])]) {
      result.set(l, new Map());
      memberKey.set(l, a.projectType === 'hybrid' ? 'userId' : 'email');
    }
  }
  for (const want of wants.values()) {
    if (want.action !== 'add' || forgotten.has(`${want.accountId}:${want.email}`)) continue;
    const list = lists.get(`${want.accountId}:${want.audienceId}`)?.list;
    if (list === undefined) continue;
    const members = result.get(list);
    if (!members) continue;
    if (memberKey.get(list) === 'userId') {
      members.set(want.userId, { at: want.at, userId: '' });
      continue;
    }
    const held = members.get(want.email);
    if (!held || want.at > held.at) members.set(want.email, { at: want.at, userId: want.userId });
  }
  return {
    lists: new Map([...result].map(([list, members]) => [list, new Map([...members].map(([email, m]) => [email, m.userId]))])),
    memberKey,
    undeliverable,
    fields: [...attributes.values()]
      .filter((f) => !forgotten.has(`${f.accountId}:${f.email}`))
      .reduce((byAccount, f) => {
        const users = byAccount.get(f.accountId) ?? new Map<string, Map<string, string>>();
        const fields = users.get(f.email) ?? new Map<string, string>();
        fields.set(f.key, f.value);
        users.set(f.email, fields);
        return byAccount.set(f.accountId, users);
      }, new Map<number, Map<string, Map<string, string>>>()),
    erased: erasures.map((x) => ({
      accountId: x.accountId,
      email: x.email.toLowerCase(),
      ...(x.customerId === undefined ? {} : { customerId: x.customerId }),
      newConsent: accepted.some(({ e }) => e.kind === 'membership' && e.accountId === x.accountId && e.at > x.at && e.profiles.some((p) => p.mpid === x.mpid)),
    })),
  };
}

/** The identity a profile is sent with, or none (Customer ID mode without an email: skipped). */
export function identityOf(mode: Mode, p: { mpid: string; email?: string; customerId?: string }): { email: string; userId: string } | undefined {
  if (mode === 'customerId') return p.email && p.customerId ? { email: p.email.toLowerCase(), userId: p.customerId } : undefined;
  return { email: (p.email ?? `${p.mpid}@placeholder.email`).toLowerCase(), userId: p.mpid };
}

/** Events that must be acknowledged: every event of a generated history is valid (a malformed listId included). */
export function mustBeAcknowledged(_event: HistoryEvent): boolean {
  return true;
}
