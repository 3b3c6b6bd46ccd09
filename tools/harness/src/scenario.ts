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
}

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
  firstTimestampMs?: number;
}

/**
 * mParticle-like traffic for one account: messages of several profiles, each naming adds and deletes for
 * the account's audiences at the message's timestamp; then shuffled (out of order) with duplicates.
 * The expected lists follow the product's rules: the newest change per (audience, user) wins; Customer ID
 * mode skips users without email; mParticle ID mode gives them `<mpid>@placeholder.email`.
 */
export function buildScenario(o: ScenarioOptions): Scenario {
  const random = seededRandom(o.seed); // deterministic: a failing scenario replays from its seed
  const users: ScenarioUser[] = Array.from({ length: o.users }, (_, i) => {
    const mpid = String(o.accountId * 1_000_000 + i);
    return { mpid, customerId: `c-${o.accountId}-${i}`, ...(random() < (o.withoutEmail ?? 0.1) ? {} : { email: `user${i}.a${o.accountId}@example.com` }) };
  });
  const newest = new Map<string, { t: number; action: 'add' | 'delete'; user: ScenarioUser; listId: number }>();
  const messages: Record<string, unknown>[] = [];
  let changes = 0;
  for (let m = 0; m < o.messages; m++) {
    const t = (o.firstTimestampMs ?? 1_700_000_000_000) + m * 1000;
    const chosen = shuffle(users, random).slice(0, o.profilesPerMessage);
    const profiles = chosen.map((user) => {
      const audiences = o.audiences
        .filter(() => random() < 0.7)
        .map((a) => ({ audienceId: a.audienceId, listId: a.listId, action: random() < 0.65 ? ('add' as const) : ('delete' as const) }));
      for (const a of audiences) {
        newest.set(`${a.audienceId}|${user.mpid}`, { t, action: a.action, user, listId: a.listId });
        changes++;
      }
      return { mpid: user.mpid, customerId: user.customerId, ...(user.email ? { email: user.email } : {}), audiences };
    });
    messages.push(membershipMessage(`scn-${o.seed}-${o.accountId}-${m}`, t, profiles, { accountId: o.accountId, apiKey: o.apiKey, userIdField: o.userIdField }));
  }
  const expected = new Map<number, Set<string>>(o.audiences.map((a) => [a.listId, new Set<string>()]));
  for (const { action, user, listId } of newest.values()) {
    if (action !== 'add') continue;
    const email = user.email ?? (o.userIdField === 'mpid' ? `${user.mpid}@placeholder.email` : undefined);
    if (email) expected.get(listId)?.add(email);
  }
  const duplicated = messages.filter(() => random() < (o.duplicates ?? 0.2));
  return { messages: shuffle([...messages, ...duplicated], random), expected, changes };
}
