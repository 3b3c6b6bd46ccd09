import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Environment } from '@audience-bridge/config';
import type { Account } from '@audience-bridge/domain';
import { BulkUpdateUser, IterableClient, IterableError, LimiterWaitTimeoutError, retryDelayMs, verdictReason } from '@audience-bridge/iterable-client';
import { MAX_REQUEST_BYTES, MAX_SUBSCRIBERS_PER_CALL, batchBySize } from '@audience-bridge/mapping';
import { AccountsRepository, AttributeVerdictRecord, AttributesRepository, UserAttributeState } from '@audience-bridge/persistence';
import { IterableClientsService } from '../delivery/iterable-clients.service';

/** Rounds (of up to 1000 users each) one account gets per tick before the others have their turn. */
const ROUNDS_PER_TURN = 10;
/** Bytes of `{"users":[]}` around the users. */
const ENVELOPE_BYTES = Buffer.byteLength(JSON.stringify({ users: [] }));

type Sendable = BulkUpdateUser & { state: UserAttributeState; inboxIds: number[] };

/** Another worker took the account (this one was paused past its lease): stop, send nothing more. */
class LeaseLost extends Error {
  /** `sent`: lost only after the call went out (its rechecks stay, so the newest fields go out again). */
  constructor(readonly sent: boolean) {
    super('the account was taken by another worker');
  }
}

/** A transient failure: the account backs off and the inbox rows stay. */
class TryLater extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/**
 * Forwards the user attributes ingest stored (README "User attributes"): every tick each worker takes the
 * accounts with waiting users (one worker per account, a lease in `attribute_leases`), reads the oldest 1000
 * users of the account's `attribute_inbox`, sends each one's newest forwarded fields in `users/bulkUpdate`
 * batches (≤ 1000 users, < 4 MB) under its own rate limiter, records a verdict per user in the delivery
 * audit and deletes exactly the inbox rows it answered. 429, 5xx and network errors back the account off
 * (Retry-After honoured); a user Iterable refuses (a field type the project has otherwise) is a permanent
 * verdict for that user; a batch refused whole is sent again in halves until the refusal lands on its user.
 */
@Injectable()
export class AttributeDeliveryService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(AttributeDeliveryService.name);
  private readonly holder = `${hostname().slice(0, 30)}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly env: Environment,
    private readonly attributes: AttributesRepository,
    private readonly accounts: AccountsRepository,
    private readonly clients: IterableClientsService,
  ) {}

  /** How often the inbox is looked at: a lone change waits at most this long (changes arriving together leave together). */
  get pollMs(): number {
    return Math.min(this.env.SWEEP_INTERVAL_MS, 1000);
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.tick(), this.pollMs);
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass over the accounts with waiting users; answers how many users were settled. */
  async tick(): Promise<number> {
    if (this.running) return 0;
    let settled = 0;
    this.running = (async () => {
      try {
        for (const accountId of await this.attributes.dueAccounts()) {
          // Held for LIST_LEASE_TTL_MS and renewed before every round: a worker that dies mid-turn frees the
          // account as soon as a list (not two minutes later, as a fixed lease did: found by the model checker).
          if (!(await this.attributes.claim(accountId, this.holder, Date.now() + this.env.LIST_LEASE_TTL_MS))) continue;
          settled += await this.turn(accountId);
        }
      } catch (error) {
        this.logger.warn(`attribute round failed (next in ${this.pollMs} ms): ${error instanceof Error ? error.message : String(error)}`);
      }
    })();
    await this.running;
    this.running = undefined;
    return settled;
  }

  private async turn(accountId: number): Promise<number> {
    let settled = 0;
    try {
      const account = await this.accounts.findForDelivery(accountId);
      if (!account?.iterableApiKey || account.status === 'suspended') {
        throw new TryLater(account?.iterableApiKey ? 'the account is suspended' : 'the account has no Iterable API key yet');
      }
      for (let round = 0; round < ROUNDS_PER_TURN; round++) {
        if (round > 0 && !(await this.attributes.claim(accountId, this.holder, Date.now() + this.env.LIST_LEASE_TTL_MS))) return settled;
        const n = await this.round(account);
        settled += n;
        if (n === 0) break;
      }
      await this.attributes.release(accountId, this.holder);
    } catch (error) {
      if (error instanceof LeaseLost) return settled;
      if (!(error instanceof TryLater)) {
        await this.attributes
          .release(accountId, this.holder, { nextAttemptAtMs: Date.now() + this.env.SWEEP_INTERVAL_MS, error: String(error) })
          .catch(() => undefined);
        throw error;
      }
      const attempt = (await this.attributes.attempts(accountId)) + 1;
      const delay = retryDelayMs({
        attempt,
        baseMs: this.env.DELIVERY_RETRY_BASE_MS,
        maxMs: this.env.DELIVERY_RETRY_MAX_MS,
        ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
      });
      this.logger.warn(`account ${accountId}: users/bulkUpdate ${error.message}; next try in ${delay} ms`);
      await this.attributes.release(accountId, this.holder, { nextAttemptAtMs: Date.now() + delay, error: error.message });
    }
    return settled;
  }

  /** Up to 1000 waiting users of the account, sent and settled; answers how many. */
  private async round(account: Account): Promise<number> {
    const inbox = await this.attributes.readInbox(account.accountId, MAX_SUBSCRIBERS_PER_CALL);
    if (inbox.userKeys.length === 0) return 0;
    const states = new Map((await this.attributes.usersState(account.accountId, inbox.userKeys)).map((s) => [s.userKey, s]));
    const idsOf = new Map<string, number[]>();
    const rows = await this.inboxRows(account.accountId, inbox.ids);
    for (const [id, userKey] of rows) idsOf.set(userKey, [...(idsOf.get(userKey) ?? []), id]);

    const notSent: AttributeVerdictRecord[] = [];
    const notSentIds: number[] = [];
    const sendable: Sendable[] = [];
    for (const userKey of inbox.userKeys) {
      const state = states.get(userKey);
      const inboxIds = idsOf.get(userKey) ?? [];
      if (!state) {
        notSentIds.push(...inboxIds);
        continue;
      }
      for (const skipped of state.skipped) notSent.push(verdict(state, 'skipped', skipped.reason));
      if (Object.keys(state.fields).length === 0) {
        notSentIds.push(...inboxIds);
        continue;
      }
      if (state.email === null && state.userId === null) {
        notSent.push(verdict(state, 'skipped', 'no Iterable identity'));
        notSentIds.push(...inboxIds);
        continue;
      }
      sendable.push({
        ...(state.email === null ? {} : { email: state.email }),
        ...(state.userId === null ? {} : { userId: state.userId }),
        dataFields: state.fields,
        state,
        inboxIds,
      });
    }
    const { batches, oversized } = batchBySize(
      sendable,
      (u) => Buffer.byteLength(JSON.stringify({ email: u.email, userId: u.userId, dataFields: u.dataFields })),
      ENVELOPE_BYTES,
      {
        maxItems: MAX_SUBSCRIBERS_PER_CALL,
        maxBytes: MAX_REQUEST_BYTES,
      },
    );
    for (const user of oversized) {
      notSent.push(verdict(user.state, 'failed', 'too large'));
      notSentIds.push(...user.inboxIds);
    }
    // Skipped values and users that cannot be sent are recorded under a call row of 0 users (nothing was sent).
    if (notSent.length > 0 || notSentIds.length > 0) {
      await this.settle(
        account,
        callRow(account, { userCount: 0, httpStatus: null, successCount: 0, failureCount: 0, durationMs: 0, error: null, dryRun: false }),
        notSent,
        notSentIds,
      );
    }
    for (const batch of batches) await this.send(account, batch);
    return inbox.userKeys.length;
  }

  /** Sends one batch and settles it; a batch Iterable refuses whole is sent again in halves. */
  private async send(account: Account, batch: Sendable[]): Promise<void> {
    const ids = batch.flatMap((u) => u.inboxIds);
    if (account.dryRun) {
      const call = callRow(account, {
        userCount: batch.length,
        httpStatus: null,
        successCount: batch.length,
        failureCount: 0,
        durationMs: 0,
        error: null,
        dryRun: true,
      });
      await this.settle(
        account,
        call,
        batch.map((u) => verdict(u.state, 'skipped', 'dry run')),
        ids,
      );
      return;
    }
    const client: IterableClient = this.clients.attributesClientFor(account);
    // The fence (as for lists): still ours, extended, before the wait for the rate limiter, and again after the
    // grant if the wait took over a third of the lease. A worker paused past its lease (the model checker's
    // SIGSTOP, seed 2133 PostgreSQL) sent a user's older fields after the worker that took over sent the newer ones.
    const ttl = this.env.LIST_LEASE_TTL_MS;
    const fence = async (): Promise<number> => {
      const at = Date.now();
      if (!(await this.attributes.renew(account.accountId, this.holder, at + ttl))) throw new LeaseLost(false);
      return at;
    };
    let fencedAt = await fence();
    const beforeSend = async () => {
      if (Date.now() - fencedAt > ttl / 3) fencedAt = await fence();
    };
    const started = Date.now();
    // Before sending: a recheck per user, due once a call we give up on could no longer be applied late. Kept only
    // when no answer comes (then due ITERABLE_LATE_APPLY_WINDOW_MS after giving up) or the worker dies meanwhile, so
    // a stale call Iterable applies late never has the last word (found by the model checker, seed 103 PostgreSQL).
    const rechecks = await this.attributes.scheduleRecheck(
      account.accountId,
      batch.map((u) => u.state.userKey),
      started + this.env.ITERABLE_TIMEOUT_MS + this.env.ITERABLE_LATE_APPLY_WINDOW_MS,
    );
    try {
      const result = await client.bulkUpdateUsers(
        batch.map(({ state: _s, inboxIds: _i, ...user }) => user),
        { beforeSend },
      );
      // Verdicts come in the order the users were sent.
      const verdicts = result.verdicts.map((v, i) => {
        const state = (batch[i] as Sendable).state;
        return v.outcome.kind === 'delivered' ? verdict(state, 'delivered', null) : verdict(state, 'failed', verdictReason(v));
      });
      const failed = verdicts.filter((v) => v.outcome === 'failed').length;
      const call = callRow(account, {
        userCount: batch.length,
        httpStatus: 200,
        successCount: batch.length - failed,
        failureCount: failed,
        durationMs: Date.now() - started,
        error: null,
        dryRun: false,
      });
      if (!(await this.settle(account, call, verdicts, [...ids, ...rechecks]))) throw new LeaseLost(true);
    } catch (error) {
      if (error instanceof LeaseLost) {
        // Lost before sending: nothing went out. Lost after: the rechecks stay (see settle).
        if (!error.sent) await this.attributes.dropRechecks(rechecks);
        throw error;
      }
      if (error instanceof IterableError && error.unknownOutcome) {
        const dueAtMs = Date.now() + this.env.ITERABLE_LATE_APPLY_WINDOW_MS;
        // A worker that took the account over while this one was paused has used some already: the call may still
        // apply after what that worker sent, so the users get new ones.
        if ((await this.attributes.postponeRechecks(rechecks, dueAtMs)) < rechecks.length) {
          await this.attributes.scheduleRecheck(
            account.accountId,
            batch.map((u) => u.state.userKey),
            dueAtMs,
          );
        }
      } else {
        await this.attributes.dropRechecks(rechecks);
      }
      if (error instanceof LimiterWaitTimeoutError) throw new TryLater('rate limiter wait');
      if (!(error instanceof IterableError)) throw error;
      if (error.retryable || error.reason === 'bad api key')
        throw new TryLater(`${error.reason}${error.status ? ` (${error.status})` : ''}`, error.retryAfterMs);
      // Refused whole (a type clash answered 400, a body too large, a conflict): halves until it lands on its user.
      if (batch.length > 1) {
        const half = Math.ceil(batch.length / 2);
        await this.send(account, batch.slice(0, half));
        await this.send(account, batch.slice(half));
        return;
      }
      const call = callRow(account, {
        userCount: 1,
        httpStatus: error.status ?? null,
        successCount: 0,
        failureCount: 1,
        durationMs: Date.now() - started,
        error: error.message.slice(0, 2000),
        dryRun: false,
      });
      await this.settle(
        account,
        call,
        batch.map((u) => verdict(u.state, 'failed', error.code === 'RequestFieldsTypesMismatched' ? 'invalid data' : error.reason)),
        ids,
      );
    }
  }

  /** Settles under the account's lease (fenced): false when another worker took it meanwhile (the rows then stay). */
  private settle(account: Account, call: Parameters<AttributesRepository['settle']>[0], verdicts: AttributeVerdictRecord[], ids: number[]): Promise<boolean> {
    return this.attributes.settle(call, verdicts, ids, { holder: this.holder, untilMs: Date.now() + this.env.LIST_LEASE_TTL_MS });
  }

  private async inboxRows(accountId: number, ids: number[]): Promise<[number, string][]> {
    return (await this.attributes.inboxUsers(accountId, ids)).map((r) => [r.id, r.userKey]);
  }
}

function verdict(state: UserAttributeState, outcome: AttributeVerdictRecord['outcome'], reason: string | null): AttributeVerdictRecord {
  return {
    userKey: state.userKey,
    mpid: state.mpid,
    email: state.email,
    userId: state.userId,
    outcome,
    reason: reason === null ? null : reason.slice(0, 32),
    retryable: false,
  };
}

function callRow(
  account: Account,
  c: { userCount: number; httpStatus: number | null; successCount: number; failureCount: number; durationMs: number; error: string | null; dryRun: boolean },
) {
  return { id: randomUUID(), accountId: account.accountId, createdAtMs: Date.now(), ...c };
}
