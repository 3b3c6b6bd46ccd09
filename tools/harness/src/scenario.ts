import { seededRandom } from '@audience-bridge/fake-iterable';
import { membershipMessage } from './stack';

export function shuffle<T>(items: T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

export interface ScenarioUser {
  mpid: string;
  email?: string;
  customerId: string;
  /** An identity change: from message `switchAt` on, mParticle sends this email instead. */
  laterEmail?: string;
  switchAt?: number;
}

/** The email mParticle sends for the user in message `m`. */
const emailAt = (user: ScenarioUser, m: number): string | undefined => (user.laterEmail && m >= (user.switchAt ?? 0) ? user.laterEmail : user.email);

export interface Scenario {
  /** The messages in the order to send them: shuffled, some duplicated. */
  messages: Record<string, unknown>[];
  /** Per list id, the emails Iterable must hold at the end (the newest desired state of every sendable user). */
  expected: Map<number, Set<string>>;
  changes: number;
}

export interface ScenarioOptions {
  seed: number;
  accountId: number;
  apiKey: string;
  userIdField: 'customerId' | 'mpid';
  /** audience id → Iterable list id */
  audiences: { audienceId: number; listId: number }[];
  users: number;
  messages: number;
  profilesPerMessage: number;
  /** Share of users without an email. */
  withoutEmail?: number;
  /** Share of messages sent twice. */
  duplicates?: number;
  /** Share of users whose email changes part way (an address change, or a placeholder user who gains one). */
  emailChanges?: number;
  firstTimestampMs?: number;
}

/**
 * mParticle-like traffic for one account: messages of several profiles, each naming adds and deletes for
 * the account's audiences at the message's timestamp; then shuffled (out of order) with duplicates.
 * The expected lists follow the product's rules: the newest change per (audience, user) wins, with the identity
 * it carried; a list holds an email when the newest change of any audience mapped to it adds it (audiences may
 * share a list); Customer ID mode skips users without email; mParticle ID mode gives them
 * `<mpid>@placeholder.email`.
 */
export function buildScenario(o: ScenarioOptions): Scenario {
  const random = seededRandom(o.seed); // deterministic: a failing scenario replays from its seed
  const users: ScenarioUser[] = Array.from({ length: o.users }, (_, i) => {
    const mpid = String(o.accountId * 1_000_000 + i);
    const user: ScenarioUser = {
      mpid,
      customerId: `c-${o.accountId}-${i}`,
      ...(random() < (o.withoutEmail ?? 0.1) ? {} : { email: `user${i}.a${o.accountId}@example.com` }),
    };
    if (random() < (o.emailChanges ?? 0))
      Object.assign(user, { laterEmail: `moved${i}.a${o.accountId}@example.com`, switchAt: Math.floor(random() * o.messages) });
    return user;
  });
  const newest = new Map<string, { t: number; action: 'add' | 'delete'; user: ScenarioUser; email: string | undefined; listId: number }>();
  const messages: Record<string, unknown>[] = [];
  let changes = 0;
  for (let m = 0; m < o.messages; m++) {
    const t = (o.firstTimestampMs ?? 1_700_000_000_000) + m * 1000;
    const chosen = shuffle(users, random).slice(0, o.profilesPerMessage);
    const profiles = chosen.map((user) => {
      const audiences = o.audiences
        .filter(() => random() < 0.7)
        .map((a) => ({ audienceId: a.audienceId, listId: a.listId, action: random() < 0.65 ? ('add' as const) : ('delete' as const) }));
      const email = emailAt(user, m);
      for (const a of audiences) {
        const before = newest.get(`${a.audienceId}|${user.mpid}`);
        // A change without an email (Customer ID mode) keeps the identity sent before.
        const kept = email === undefined && o.userIdField === 'customerId' ? before?.email : email;
        newest.set(`${a.audienceId}|${user.mpid}`, { t, action: a.action, user, email: kept, listId: a.listId });
        changes++;
      }
      return { mpid: user.mpid, customerId: user.customerId, ...(email ? { email } : {}), audiences };
    });
    messages.push(
      membershipMessage(`scn-${o.seed}-${o.accountId}-${m}`, t, profiles, { accountId: o.accountId, apiKey: o.apiKey, userIdField: o.userIdField }),
    );
  }
  const expected = new Map<number, Set<string>>(o.audiences.map((a) => [a.listId, new Set<string>()]));
  for (const { action, user, email: sent, listId } of newest.values()) {
    if (action !== 'add') continue;
    const email = sent ?? (o.userIdField === 'mpid' ? `${user.mpid}@placeholder.email` : undefined);
    if (email) expected.get(listId)?.add(email);
  }
  const duplicated = messages.filter(() => random() < (o.duplicates ?? 0.2));
  return { messages: shuffle([...messages, ...duplicated], random), expected, changes };
}
