import { seededRandom } from '@audience-bridge/fake-iterable';

/**
 * Histories for the model checker: what mParticle does over a while (its timeline, stamped by `timestamp_ms`) and
 * the order its messages reach us (shuffled, duplicated, bursts sent at once). Lists are named by slot (`L0`…)
 * and resolved to the fake Iterable's ids when a history runs. Everything follows from the seed.
 */

/** A seeded generator (the fake Iterable's mulberry32), so a seed is a whole history. */
export const random = seededRandom;

export type Mode = 'customerId' | 'mpid';

export interface AccountPlan {
  accountId: number;
  mode: Mode;
  /** The key in force from `rotatedAt` on; before it, `revokedKey` (which Iterable no longer accepts). */
  apiKey: string;
  revokedKey: string;
  rotatedAt: number;
  /** List slots of this account's Iterable project. */
  lists: string[];
  /** Slots of lists audience-bridge creates for audiences connected without a listId (resolved from the subscription answer). */
  created?: string[];
  /** The account setting `forwardAttributes`, sent in every message of the account. */
  forwardAttributes?: string;
  /** The Iterable project's type (`email` when absent). */
  projectType?: 'email' | 'hybrid' | 'userId';
  /** Feeds the project (and lists) of this other account, with the same API key: two mParticle accounts, one Iterable project. */
  projectOf?: number;
}

export interface AudienceEntry {
  audienceId: number;
  /** The list slot the message names, or `malformed` for a listId that is not a positive integer. */
  list: string | 'malformed';
  action: 'add' | 'delete';
}

export interface ProfileEntry {
  mpid: string;
  email?: string;
  customerId?: string;
  audiences: AudienceEntry[];
  /** Forwarded user attributes (upserts), carried on the first audience entry. */
  attributes?: { key: string; value: string }[];
}

/** A data subject erasure (mParticle's `dsr_processing_request`) of one user, by email and (Customer ID mode) customer id. */
export interface ErasureEvent {
  kind: 'erasure';
  id: string;
  accountId: number;
  at: number;
  apiKey: string;
  requestId: string;
  email: string;
  customerId?: string;
  /** The subject's mpid (not sent: how the model knows which profiles are theirs). */
  mpid: string;
}

export type HistoryEvent =
  | {
      kind: 'subscription';
      id: string;
      accountId: number;
      at: number;
      apiKey: string;
      audienceId: number;
      list: string;
      action: 'add' | 'update';
      /** Sent without a listId: audience-bridge finds or creates the list (`list` is its created slot). */
      create?: boolean;
    }
  | {
      kind: 'membership';
      id: string;
      accountId: number;
      at: number;
      apiKey: string;
      profiles: ProfileEntry[];
      /** mParticle's keep-alive: a membership request without `user_profiles` (it still carries the settings). */
      keepAlive?: boolean;
    }
  | ErasureEvent;

export interface History {
  seed: number;
  accounts: AccountPlan[];
  /** The timeline, in `at` order. */
  events: HistoryEvent[];
  /** How the events reach the API: each step is a burst sent at once (indexes into `events`; a repeat is a retry). */
  delivery: number[][];
  /** Faults scheduled into the run. */
  faults: {
    iterableErrorRate: number;
    throttle: boolean;
    killWorkerAtStep: number | null;
    /** Fraction of Iterable calls answered after the client gave up (and applied then): unknown outcomes. */
    slowRate?: number;
    /** Fraction of Iterable calls whose connection is reset before Iterable handles them: unknown outcomes, not applied. */
    resetRate?: number;
    /** The API process SIGKILLed while this step's burst is in flight (then started again; unanswered messages are sent again). */
    killApiAtStep?: number | null;
    /** The queue's Redis keys deleted before this step (every signal lost: the sweeper must find the work). */
    flushRedisAtStep?: number | null;
    /**
     * A second worker runs; the first is SIGSTOPped at this step for twice its list lease and the late-apply window,
     * then continued, and the second likewise at three times this step.
     */
    stopWorkerAtStep?: number | null;
    /** Throttling answers 429 without `Retry-After` (the client's own backoff). */
    throttleWithoutRetryAfter?: boolean;
    /** Before this step a person edits a list in Iterable (two members removed, a stranger added) and asks for a drift repair. */
    handEditAtStep?: number | null;
    /** From this step Iterable answers every call 503 for `outageMs` (an outage; deliveries wait it out). */
    outageAtStep?: number | null;
    outageMs?: number;
    /**
     * From this step the database cannot be written for `storageOutageMs`: PostgreSQL refuses connections and drops
     * every open one (as in a restart); SQLite's disk is full (its folder is a small tmpfs, filled, then freed).
     */
    storageOutageAtStep?: number | null;
    storageOutageMs?: number;
    /** API processes sharing the port (`API_PROCESSES`). */
    apiProcesses?: number;
  };
}

export interface GeneratorOptions {
  messages: number;
  /** Fractions: message sent twice, a late message (delivered far behind its time), a malformed listId. */
  duplicateRate: number;
  lateRate: number;
  malformedRate: number;
  faults: boolean;
  /** Data subject erasures per history (each with a late older change and, sometimes, a newer one of the subject). */
  erasures: number;
  /** Audiences connected without a listId (their subscription sent twice at once, as a retry), then fed. */
  createdLists: number;
  /** New audiences whose subscription and first three membership messages go out in one burst, all at once. */
  newAudiences: number;
  /** Fraction of the Customer ID account's profiles (users with an email of their own) that carry a forwarded attribute. */
  attributeRate: number;
  /** How long the Iterable outage lasts (when a history has one). */
  outageSeconds: number;
  /** Faults of the database (a PostgreSQL restart, a full SQLite disk) and runs with two API processes. */
  storageFaults: boolean;
  /** A third account on the first account's Iterable project (same key, its own audiences on that project's lists), and hybrid projects. */
  sharedProject: boolean;
  /**
   * Fraction of list moves whose subscription update never arrives (lost on mParticle's side): the move reaches
   * audience-bridge only through the membership messages that name the new list, and a late one of them, older
   * than messages restating another list, must not move the audience.
   */
  lostMoveRate: number;
}

export const DEFAULT_OPTIONS: GeneratorOptions = {
  messages: 60,
  duplicateRate: 0.1,
  lateRate: 0.08,
  malformedRate: 0.04,
  faults: true,
  erasures: 1,
  createdLists: 1,
  newAudiences: 2,
  attributeRate: 0.3,
  outageSeconds: 15,
  storageFaults: true,
  // A third account on the first one's project, and hybrid projects (README "Model checker").
  sharedProject: true,
  lostMoveRate: 0.3,
};

/**
 * A history of two accounts (one in each identity mode, two projects), three audiences each on four lists
 * (audiences 1 and 2 start on one list), users who share emails and change them, list moves by subscription
 * update, a key rotation, new audiences whose subscription and first memberships go out in one burst.
 */
export function generateHistory(seed: number, options: Partial<GeneratorOptions> = {}): History {
  const o = { ...DEFAULT_OPTIONS, ...options };
  const r = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(r() * items.length)] as T;
  // A fixed past (2026-05), so a seed is the same history on any day; never ahead of the clock.
  const t0 = 1_780_000_000_000 + seed * 100_000;
  const accounts: AccountPlan[] = [1, 2].map((n) => ({
    accountId: 7000 + n,
    mode: n === 1 ? 'customerId' : 'mpid',
    apiKey: `mc-key-${seed}-${n}-${'0'.repeat(16)}`,
    revokedKey: `mc-revoked-${seed}-${n}-${'0'.repeat(12)}`,
    rotatedAt: t0 + 1000 + Math.floor(r() * 8000),
    lists: ['L0', 'L1', 'L2', 'L3'].map((l) => `${n}:${l}`),
  }));
  // Users: an account's pool; some share an email, some change it once (at `changesAt`), some (mpid mode) have none.
  const users = accounts.map((a) =>
    Array.from({ length: 16 }, (_, i) => {
      const shared = i % 7 === 6 ? `shared${i % 2}.${a.accountId}@example.com` : undefined;
      const noEmail = a.mode === 'mpid' && i % 5 === 4;
      return {
        mpid: String(900_000 + a.accountId * 100 + i),
        customerId: `cust-${a.accountId}-${i}`,
        email: noEmail ? undefined : (shared ?? `u${i}.${a.accountId}@example.com`),
        newEmail: noEmail || shared || r() > 0.2 ? undefined : `u${i}.moved.${a.accountId}@example.com`,
        changesAt: t0 + Math.floor(r() * 60_000),
      };
    }),
  );

  const events: HistoryEvent[] = [];
  let at = t0;
  let seq = 0;
  const id = () => `mc-${seed}-${++seq}`;
  const keyAt = (a: AccountPlan, time: number) => (time >= a.rotatedAt ? a.apiKey : a.revokedKey);
  // Where each audience's list is, as mParticle's settings say at each moment of the timeline.
  const listOf = new Map<string, string>();
  const started = new Set<string>();
  for (let m = 0; m < o.messages; m++) {
    at += 1 + Math.floor(r() * 800);
    const a = pick(accounts);
    const ai = accounts.indexOf(a);
    const audienceId = 1 + Math.floor(r() * 3);
    const key = `${a.accountId}:${audienceId}`;
    if (!started.has(key)) {
      // A new audience: its subscription, then its first memberships right behind it.
      started.add(key);
      const list = audienceId === 3 ? pick(a.lists) : (a.lists[0] as string);
      listOf.set(key, list);
      events.push({ kind: 'subscription', id: id(), accountId: a.accountId, at, apiKey: keyAt(a, at), audienceId, list, action: 'add' });
      at += 1;
    } else if (r() < 0.06) {
      // A list move: the audience's next list (subscription update).
      const list = pick(a.lists.filter((l) => l !== listOf.get(key)));
      listOf.set(key, list);
      events.push({ kind: 'subscription', id: id(), accountId: a.accountId, at, apiKey: keyAt(a, at), audienceId, list, action: 'update' });
      continue;
    }
    const profiles: ProfileEntry[] = [];
    const chosen = new Set<number>();
    const count = 1 + Math.floor(r() * 6);
    for (let p = 0; p < count; p++) {
      const ui = Math.floor(r() * 16);
      if (chosen.has(ui)) continue;
      chosen.add(ui);
      const u = users[ai]?.[ui];
      if (!u) continue;
      const email = u.newEmail && at >= u.changesAt ? u.newEmail : u.email;
      const entries: AudienceEntry[] = [];
      for (const aud of [1, 2, 3]) {
        const audKey = `${a.accountId}:${aud}`;
        if (!started.has(audKey) || (aud !== audienceId && r() > 0.3)) continue;
        entries.push({ audienceId: aud, list: r() < o.malformedRate ? 'malformed' : (listOf.get(audKey) as string), action: r() < 0.62 ? 'add' : 'delete' });
      }
      if (entries.length === 0) continue;
      profiles.push({
        mpid: u.mpid,
        ...(email ? { email } : {}),
        ...(a.mode === 'customerId' ? { customerId: u.customerId } : {}),
        audiences: entries,
      });
    }
    if (profiles.length > 0) events.push({ kind: 'membership', id: id(), accountId: a.accountId, at, apiKey: keyAt(a, at), profiles });
  }

  // Delivery: roughly in time order, neighbours shuffled, some late, some twice, in bursts sent at once.
  const order = events.map((_, i) => i);
  for (let i = 0; i < order.length; i++) {
    const j = Math.min(order.length - 1, i + Math.floor(r() * 4));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  const late: number[] = [];
  const onTime = order.filter((i) => (r() < o.lateRate ? (late.push(i), false) : true));
  const sequence = [...onTime, ...late];
  const withRetries = sequence.flatMap((i) => (r() < o.duplicateRate ? [i, i] : [i]));
  const delivery: number[][] = [];
  for (let i = 0; i < withRetries.length;) {
    const size = 1 + Math.floor(r() * 6);
    delivery.push(withRetries.slice(i, i + size));
    i += size;
  }
  const faults = {
    iterableErrorRate: o.faults ? 0.05 + r() * 0.1 : 0,
    throttle: o.faults && r() < 0.5,
    killWorkerAtStep: o.faults && r() < 0.7 ? Math.floor(delivery.length / 2) : null,
    // Drawn last, so the histories of seeds found before it existed are unchanged but for this fault.
    slowRate: o.faults && r() < 0.5 ? 0.05 : 0,
    resetRate: o.faults && r() < 0.6 ? 0.04 : 0,
    killApiAtStep: o.faults && r() < 0.4 ? Math.floor(delivery.length / 3) : null,
    flushRedisAtStep: o.faults && r() < 0.5 ? Math.floor((delivery.length * 2) / 3) : null,
  };
  const history: History = { seed, accounts, events, delivery, faults };
  addErasures(history, users, o.erasures, keyAt);
  addCreatedLists(history, users, o.createdLists, keyAt);
  addNewAudienceBursts(history, users, o.newAudiences, keyAt);
  addAttributes(history, users, o.attributeRate);
  if (o.faults) addLaterFaults(history, keyAt, o.outageSeconds);
  if (o.faults && o.storageFaults) addStorageFaults(history);
  addLostMoves(history, o.lostMoveRate);
  // Last: it adds an account, which the generators above must not see (their draws pick among the accounts).
  if (o.sharedProject) addSharedProject(history);
  return history;
}

/**
 * Erasures, drawn from a generator of their own so that the rest of a seed's history (found before erasures were
 * generated) stays the same: a subject with one email of their own, erased at a moment after one of their changes;
 * the erasure goes out in the burst of that moment; a change of theirs stamped just before the erasure arrives in
 * the last burst (late, as a retried or delayed mParticle message), and sometimes one stamped after it (a new consent).
 */
function addErasures(
  history: History,
  users: { mpid: string; customerId: string; email?: string | undefined; newEmail?: string | undefined }[][],
  count: number,
  keyAt: (a: AccountPlan, time: number) => string,
): void {
  const r = random(history.seed * 7919 + 17);
  const base = history.events.length;
  const erased = new Set<string>();
  for (let n = 0; n < count; n++) {
    const a = history.accounts[Math.floor(r() * history.accounts.length)] as AccountPlan;
    const ai = history.accounts.indexOf(a);
    const own = (users[ai] ?? []).filter((u) => u.email && !u.newEmail && !u.email.startsWith('shared') && !erased.has(u.mpid));
    const theirs = history.events
      .map((e, i) => ({ e, i }))
      .filter(({ e, i }) => i < base && e.kind === 'membership' && e.accountId === a.accountId && e.profiles.some((p) => own.some((u) => u.mpid === p.mpid)));
    const pickedEvent = theirs[Math.floor(r() * theirs.length)];
    if (!pickedEvent || pickedEvent.e.kind !== 'membership') continue;
    const profile = pickedEvent.e.profiles.find((p) => own.some((u) => u.mpid === p.mpid)) as ProfileEntry;
    const user = own.find((u) => u.mpid === profile.mpid);
    if (!user?.email) continue;
    erased.add(user.mpid);
    const at = pickedEvent.e.at + 1 + Math.floor(r() * 400);
    const seq = history.events.length;
    history.events.push({
      kind: 'erasure',
      id: `mc-${history.seed}-e${seq}`,
      accountId: a.accountId,
      at,
      apiKey: keyAt(a, at),
      requestId: `osdr-${history.seed}-${seq}`,
      email: user.email,
      ...(a.mode === 'customerId' ? { customerId: user.customerId } : {}),
      mpid: user.mpid,
    });
    const burst = history.delivery.findIndex((b) => b.includes(pickedEvent.i));
    history.delivery[Math.max(0, burst)]?.push(seq);
    // Late: the subject added again by a message stamped before the erasure; sometimes a new consent after it.
    const again = (when: number, suffix: string) => {
      history.events.push({
        kind: 'membership',
        id: `mc-${history.seed}-e${seq}${suffix}`,
        accountId: a.accountId,
        at: when,
        apiKey: keyAt(a, when),
        profiles: [{ ...profile, audiences: profile.audiences.map((x) => ({ ...x, action: 'add' as const })) }],
      });
      history.delivery[history.delivery.length - 1]?.push(history.events.length - 1);
    };
    again(at - 1, 'old');
    if (r() < 0.3) again(at + 1, 'new');
  }
}

/** A user of an account's pool, as the generators of added events see them. */
type PoolUser = { mpid: string; customerId: string; email?: string | undefined };

/**
 * The profiles of the `chosen` users of `pool` as an account in its mode sends them (Customer ID mode: none without
 * an email), each in one audience entry; `action` is asked once per profile sent, in order.
 */
function profilesOf(a: AccountPlan, pool: PoolUser[], chosen: number[], audienceId: number, list: string, action: () => 'add' | 'delete'): ProfileEntry[] {
  return chosen.flatMap((ui) => {
    const u = pool[ui];
    if (!u || (a.mode === 'customerId' && !u.email)) return [];
    return [
      {
        mpid: u.mpid,
        ...(u.email ? { email: u.email } : {}),
        ...(a.mode === 'customerId' ? { customerId: u.customerId } : {}),
        audiences: [{ audienceId, list, action: action() }],
      },
    ];
  });
}

/**
 * Audiences connected without a listId (drawn from a generator of their own, like erasures): audience 4, 5, … of an
 * account, whose subscription `add` goes out twice in one burst (mParticle retrying the same message id while the
 * first is still answering), then membership changes of that audience in later bursts, naming the list id the
 * subscription's answer gave (as mParticle does). Exactly one list must be created per audience, and fed.
 */
function addCreatedLists(history: History, users: PoolUser[][], count: number, keyAt: (a: AccountPlan, time: number) => string): void {
  const r = random(history.seed * 7919 + 29);
  for (let n = 0; n < count; n++) {
    const a = history.accounts[Math.floor(r() * history.accounts.length)] as AccountPlan;
    const ai = history.accounts.indexOf(a);
    const audienceId = 4 + n;
    const slot = `${ai + 1}:A${audienceId}`;
    a.created = [...(a.created ?? []), slot];
    const step = Math.floor(r() * Math.max(1, history.delivery.length / 2));
    const first = history.delivery[step]?.[0];
    // After the key rotation: a subscription with the revoked key cannot reach the project to create anything.
    const at = Math.max(a.rotatedAt, first === undefined ? (history.events[0]?.at ?? 0) : (history.events[first]?.at ?? 0)) + 1;
    const seq = history.events.length;
    history.events.push({
      kind: 'subscription',
      id: `mc-${history.seed}-c${seq}`,
      accountId: a.accountId,
      at,
      apiKey: keyAt(a, at),
      audienceId,
      list: slot,
      action: 'add',
      create: true,
    });
    history.delivery[step]?.push(seq, seq);
    const pool = users[ai] ?? [];
    for (let m = 0; m < 4; m++) {
      const when = at + 1 + Math.floor(r() * 20_000);
      const later = step + 1 + Math.floor(r() * Math.max(1, history.delivery.length - step - 1));
      const chosen = [...new Set(Array.from({ length: 1 + Math.floor(r() * 4) }, () => Math.floor(r() * pool.length)))];
      const profiles = profilesOf(a, pool, chosen, audienceId, slot, () => (r() < 0.75 ? 'add' : 'delete'));
      if (profiles.length === 0) continue;
      history.events.push({ kind: 'membership', id: `mc-${history.seed}-c${seq}-${m}`, accountId: a.accountId, at: when, apiKey: keyAt(a, when), profiles });
      (history.delivery[Math.min(later, history.delivery.length - 1)] as number[]).push(history.events.length - 1);
    }
  }
}

/**
 * New audiences racing their own first members (drawn from a generator of their own): audience 20, 21, … of an
 * account on one of its lists; the subscription `add` and three membership messages adding users to it (stamped
 * just after it) go out in the same burst, at once, as mParticle does when an audience is connected while it fills.
 */
function addNewAudienceBursts(history: History, users: PoolUser[][], count: number, keyAt: (a: AccountPlan, time: number) => string): void {
  const r = random(history.seed * 7919 + 53);
  for (let n = 0; n < count; n++) {
    const a = history.accounts[Math.floor(r() * history.accounts.length)] as AccountPlan;
    const pool = users[history.accounts.indexOf(a)] ?? [];
    const audienceId = 20 + n;
    const list = a.lists[Math.floor(r() * a.lists.length)] as string;
    const step = Math.floor(r() * history.delivery.length);
    const first = history.delivery[step]?.[0];
    const at = Math.max(a.rotatedAt, first === undefined ? 0 : (history.events[first]?.at ?? 0)) + 3;
    const burst = history.delivery[step];
    if (!burst) continue;
    history.events.push({
      kind: 'subscription',
      id: `mc-${history.seed}-n${audienceId}`,
      accountId: a.accountId,
      at,
      apiKey: keyAt(a, at),
      audienceId,
      list,
      action: 'add',
    });
    burst.push(history.events.length - 1);
    for (let m = 1; m <= 3; m++) {
      const chosen = [...new Set(Array.from({ length: 3 + Math.floor(r() * 3) }, () => Math.floor(r() * pool.length)))];
      const profiles = profilesOf(a, pool, chosen, audienceId, list, () => 'add');
      if (profiles.length === 0) continue;
      history.events.push({
        kind: 'membership',
        id: `mc-${history.seed}-n${audienceId}-${m}`,
        accountId: a.accountId,
        at: at + m,
        apiKey: keyAt(a, at + m),
        profiles,
      });
      burst.push(history.events.length - 1);
    }
  }
}

/**
 * Forwarded attributes (drawn from a generator of their own): the Customer ID account forwards `plan` and `tier`;
 * a share of its profiles of users with an email of their own (never shared, never changed) carry upserts of them,
 * on `add`, `delete` or `attribute_update` entries alike. Newest wins per (user, attribute).
 */
function addAttributes(history: History, users: { mpid: string; email?: string | undefined; newEmail?: string | undefined }[][], rate: number): void {
  const r = random(history.seed * 7919 + 67);
  const ai = history.accounts.findIndex((a) => a.mode === 'customerId');
  const a = history.accounts[ai];
  if (!a || rate <= 0) return;
  a.forwardAttributes = 'plan:string, tier:string';
  const own = new Set((users[ai] ?? []).filter((u) => u.email && !u.newEmail && !u.email.startsWith('shared')).map((u) => u.mpid));
  for (const event of history.events) {
    if (event.kind !== 'membership' || event.accountId !== a.accountId) continue;
    for (const p of event.profiles) {
      if (!own.has(p.mpid) || r() >= rate) continue;
      const keys = r() < 0.5 ? ['plan'] : ['plan', 'tier'];
      p.attributes = keys.map((key) => ({ key, value: `${key}-${Math.floor(r() * 4)}` }));
    }
  }
}

/**
 * List moves whose subscription update is never delivered (a generator of its own, so earlier seeds' histories
 * stay as they were but for this): the event stays in the history, unsent, and so never acknowledged; the model
 * takes the audience's list from the newest acknowledged message that names one, a membership message. And, as
 * often, a brief move of that kind: one or two consecutive membership messages of an audience name another list
 * (moved and moved back, both subscription updates lost), so a late one of them meets newer messages that
 * restate the list in force and must not move the audience.
 */
function addLostMoves(history: History, rate: number): void {
  const r = random(history.seed * 7919 + 97);
  if (rate <= 0) return;
  const lost = new Set(history.events.flatMap((e, i) => (e.kind === 'subscription' && e.action === 'update' && r() < rate ? [i] : [])));
  if (lost.size > 0) history.delivery = history.delivery.map((burst) => burst.filter((i) => !lost.has(i)));
  for (const a of history.accounts) {
    if (a.lists.length < 2) continue;
    for (const audienceId of [1, 2, 3]) {
      if (r() >= rate) continue;
      const naming = history.events.flatMap((e, i) =>
        e.kind === 'membership' &&
        e.accountId === a.accountId &&
        e.profiles.some((p) => p.audiences.some((x) => x.audienceId === audienceId && x.list !== 'malformed'))
          ? [i]
          : [],
      );
      if (naming.length < 4) continue;
      // Not the first (it follows the audience's subscription) nor the last (the move back must come after it).
      const first = 1 + Math.floor(r() * (naming.length - 3));
      const brief = naming.slice(first, first + (r() < 0.5 ? 1 : 2));
      const entries = brief.flatMap((i) => {
        const e = history.events[i];
        return e?.kind === 'membership' ? e.profiles.flatMap((p) => p.audiences.filter((x) => x.audienceId === audienceId && x.list !== 'malformed')) : [];
      });
      const other = a.lists.filter((l) => l !== entries[0]?.list);
      const list = other[Math.floor(r() * other.length)] as string;
      for (const x of entries) x.list = list;
    }
  }
}

/**
 * Faults and messages added after the first regression seeds were found, from a generator of their own (so those
 * histories stay as they were but for these): keep-alives, a worker stopped past its lease while a second one
 * runs, 429s without Retry-After, a list edited by hand in Iterable followed by a drift repair, a 15 s outage.
 */
function addLaterFaults(history: History, keyAt: (a: AccountPlan, time: number) => string, outageSeconds: number): void {
  const r = random(history.seed * 7919 + 41);
  const steps = history.delivery.length;
  for (let k = 0; k < 3; k++) {
    const a = history.accounts[Math.floor(r() * history.accounts.length)] as AccountPlan;
    const step = Math.floor(r() * steps);
    const first = history.delivery[step]?.[0];
    const at = (first === undefined ? 0 : (history.events[first]?.at ?? 0)) + 2;
    history.events.push({
      kind: 'membership',
      id: `mc-${history.seed}-k${k}`,
      accountId: a.accountId,
      at,
      apiKey: keyAt(a, at),
      profiles: [],
      keepAlive: true,
    });
    history.delivery[step]?.push(history.events.length - 1);
  }
  history.faults.stopWorkerAtStep = r() < 0.4 ? Math.floor(steps / 4) : null;
  history.faults.throttleWithoutRetryAfter = history.faults.throttle && r() < 0.5;
  history.faults.handEditAtStep = r() < 0.5 ? Math.floor((steps * 3) / 5) : null;
  history.faults.outageAtStep = r() < 0.3 ? Math.floor(steps / 5) : null;
  history.faults.outageMs = outageSeconds * 1000;
}

/**
 * Database faults and API processes, from a generator of their own: in two histories of five the database cannot be
 * written for 3 s from a step between a quarter and three quarters of the run (PostgreSQL refusing and dropping
 * connections, SQLite's disk full); in one of two, two API processes share the port.
 */
function addStorageFaults(history: History): void {
  const r = random(history.seed * 7919 + 79);
  const steps = history.delivery.length;
  history.faults.storageOutageAtStep = r() < 0.4 ? Math.floor(steps * (0.25 + r() * 0.5)) : null;
  history.faults.storageOutageMs = 3000;
  history.faults.apiProcesses = r() < 0.5 ? 2 : 1;
}

/**
 * Two mParticle accounts on one Iterable project, and project types (from a generator of their own): account 7003
 * (Customer ID mode, users of its own) uses the first account's current API key, connects two audiences to lists of
 * that project (one of them a list the first account's audiences feed too: the union spans accounts), and sends
 * eight membership messages over the run; each of the first two accounts' projects is `hybrid` in one history of three.
 */
function addSharedProject(history: History): void {
  const r = random(history.seed * 7919 + 83);
  for (const a of history.accounts) if (r() < 1 / 3) a.projectType = 'hybrid';
  const owner = history.accounts[0];
  if (!owner) return;
  const a: AccountPlan = {
    accountId: 7003,
    mode: 'customerId',
    apiKey: owner.apiKey,
    revokedKey: owner.apiKey,
    rotatedAt: 0,
    lists: [],
    projectOf: owner.accountId,
  };
  history.accounts.push(a);
  const pool: PoolUser[] = Array.from({ length: 8 }, (_, i) => ({
    mpid: String(990_000 + i),
    customerId: `cust-7003-${i}`,
    email: `s${i}.7003@example.com`,
  }));
  const steps = history.delivery.length;
  const t0 = history.events[0]?.at ?? 0;
  const span = Math.max(1, (history.events[history.events.length - 1]?.at ?? t0) - t0);
  const listOf = new Map<number, string>();
  for (const audienceId of [1, 2]) {
    const list = audienceId === 1 ? (owner.lists[0] as string) : (owner.lists[1 + Math.floor(r() * (owner.lists.length - 1))] as string);
    listOf.set(audienceId, list);
    const step = Math.floor(r() * (steps / 3));
    const first = history.delivery[step]?.[0];
    const at = (first === undefined ? t0 : (history.events[first]?.at ?? t0)) + 5;
    history.events.push({
      kind: 'subscription',
      id: `mc-${history.seed}-p${audienceId}`,
      accountId: a.accountId,
      at,
      apiKey: a.apiKey,
      audienceId,
      list,
      action: 'add',
    });
    history.delivery[step]?.push(history.events.length - 1);
  }
  for (let m = 0; m < 8; m++) {
    const step = Math.floor(steps / 3 + r() * ((2 * steps) / 3 - 1));
    const first = history.delivery[step]?.[0];
    const at = (first === undefined ? t0 + Math.floor(r() * span) : (history.events[first]?.at ?? t0)) + 7 + m;
    const audienceId = r() < 0.5 ? 1 : 2;
    const chosen = [...new Set(Array.from({ length: 1 + Math.floor(r() * 4) }, () => Math.floor(r() * pool.length)))];
    const profiles = profilesOf(a, pool, chosen, audienceId, listOf.get(audienceId) as string, () => (r() < 0.7 ? 'add' : 'delete'));
    history.events.push({ kind: 'membership', id: `mc-${history.seed}-p${audienceId}-${m}`, accountId: a.accountId, at, apiKey: a.apiKey, profiles });
    history.delivery[Math.min(step, steps - 1)]?.push(history.events.length - 1);
  }
}

/** The same history with only the events at `keep` (and their deliveries): for shrinking a failing one. */
export function restrict(history: History, keep: ReadonlySet<number>): History {
  return { ...history, delivery: history.delivery.map((burst) => burst.filter((i) => keep.has(i))).filter((burst) => burst.length > 0) };
}
