import { Injectable, Logger } from '@nestjs/common';
import { Environment } from '@audience-bridge/config';
import type { DataCenter } from '@audience-bridge/domain';
import { IterableClient } from '@audience-bridge/iterable-client';
import { CreatedListsRepository, ListClaim, ListConnection, newClaimHolder, sameOwner, untilWritten } from '@audience-bridge/persistence';

/** How long a subscription answer may wait on Iterable for a list (mParticle wants answers in seconds). */
const PROVISION_TIMEOUT_MS = 5000;
/**
 * A claim still without a list this long after it was made was left by a holder that died (its Iterable calls are
 * bounded by PROVISION_TIMEOUT_MS each): the next claimer takes it over.
 */
const STALE_CLAIM_MS = 30_000;
/** How often a subscription waiting for another's claim (of the same audience) looks at it again. */
const CLAIM_POLL_MS = 50;

export interface IterableProject {
  apiKey: string;
  dataCenter: DataCenter;
}

export interface ProvisionedList {
  listId: number;
  name: string;
  created: boolean;
}

/** Every name the rule offers already belongs to another audience's list (or another subscription is creating it). */
export class NoListNameLeftError extends Error {}

/**
 * Another subscription of the same audience holds the claim on its list name and had no list within the answer's
 * budget: it is still asking Iterable, or it died after claiming (a claim is taken over once stale). Nothing is known
 * of the list yet, so the subscription is to be sent again, not answered without one.
 */
export class ListClaimBusyError extends Error {}

/**
 * Lists created for audiences that name none (README "Lists created for you"). Called while answering an
 * audience subscription, which is rare (a connection, not a membership change), so the answer can carry the
 * new list id for mParticle to show.
 *
 * Single-flight across processes and machines: each name is claimed in the database (`created_lists`, unique per
 * Iterable project and name) before Iterable is asked. The claimer looks the name up in Iterable and creates the
 * list only when there is none; concurrent subscriptions of the same audience wait for its list id (within the
 * 5 s budget) and answer the same. A name whose list another connection (any account) feeds, or that another
 * audience is claiming, is passed over for the next name of the rule.
 */
@Injectable()
export class ListProvisioner {
  private readonly logger = new Logger(ListProvisioner.name);

  constructor(
    private readonly env: Environment,
    private readonly claims: CreatedListsRepository,
  ) {}

  /**
   * The list of `owner` under the first of `names` that is free for it: its own claim's list, a list of that name
   * in Iterable (or the claim table) that no other connection feeds, or a new one.
   */
  async provision(project: IterableProject, names: string[], owner: ListConnection, description: string): Promise<ProvisionedList> {
    const deadline = Date.now() + PROVISION_TIMEOUT_MS;
    const key = this.claims.projectOf(project.apiKey, project.dataCenter);
    // A repeat (or retry) answers what was answered before, whatever became of the names before it since.
    const own = await this.claims.readyFor(key, owner, names);
    if (own) return { ...own, created: false };
    return this.with(project, async (client) => {
      for (const name of names) {
        for (;;) {
          const token = newClaimHolder();
          let claim: ListClaim;
          try {
            claim = await this.claims.claim(key, name, owner, { staleAfterMs: STALE_CLAIM_MS, holder: token });
          } catch (error) {
            // Storage failed under the claim: it may have been written all the same (the answer lost at commit).
            this.giveBack(key, name, token);
            throw error;
          }
          if (claim.kind === 'held') {
            const outcome = await this.asHolder(client, key, name, claim.holder, owner, description);
            if (outcome === 'taken') break;
            if (outcome === 'lost') continue;
            return outcome;
          }
          if (claim.kind === 'ready') {
            if (sameOwner(claim.owner, owner)) return { listId: claim.listId, name, created: false };
            if ((await this.claims.otherFeeders(claim.listId, owner)).length > 0) break;
            // Made for an audience that no longer feeds it: this audience may have it, if it still exists.
            if (!(await client.getLists()).some((l) => l.id === claim.listId)) {
              await this.claims.forgetList(claim.listId);
              continue;
            }
            if (await this.claims.adopt(key, name, claim.listId, claim.owner, owner)) return { listId: claim.listId, name, created: false };
            continue;
          }
          // Another audience is claiming this name: the next name is this audience's.
          if (!sameOwner(claim.owner, owner)) break;
          if (Date.now() >= deadline) throw new ListClaimBusyError('another subscription of this audience is still asking Iterable for its list');
          await new Promise((resolve) => setTimeout(resolve, CLAIM_POLL_MS + Math.random() * CLAIM_POLL_MS));
        }
      }
      throw new NoListNameLeftError(`every name the rule gives (${names.length}) belongs to another audience's list`);
    });
  }

  /**
   * The claim's holder asks Iterable: a list of that name that no other connection feeds is taken, else one is
   * created. 'taken' when the list of that name is another's (the claim records whose); 'lost' when the claim was
   * taken over meanwhile. Any failure releases the claim (once storage takes writes, if it is what failed).
   */
  private async asHolder(
    client: IterableClient,
    key: string,
    name: string,
    holder: string,
    owner: ListConnection,
    description: string,
  ): Promise<ProvisionedList | 'taken' | 'lost'> {
    let result: ProvisionedList;
    try {
      const existing = (await client.getLists()).find((list) => list.name === name);
      if (existing) {
        const [feeder] = await this.claims.otherFeeders(existing.id, owner);
        if (feeder) {
          await this.claims.settle(key, name, holder, existing.id, feeder);
          this.logger.log(
            `the Iterable list named for account ${owner.accountId} audience ${owner.audienceId} (${existing.id}) already feeds another audience: not reused`,
          );
          return 'taken';
        }
        result = { listId: existing.id, name, created: false };
      } else {
        result = { listId: await client.createList(name, description), name, created: true };
      }
    } catch (error) {
      await this.claims.release(key, name, holder).catch(() => this.giveBack(key, name, holder));
      throw error;
    }
    let settled: boolean;
    try {
      settled = await this.claims.settle(key, name, holder, result.listId, owner);
    } catch (error) {
      // Storage failed after Iterable answered: the claim is given back, so the subscription sent again claims the
      // name, finds this list by it and takes it (never a second one), instead of waiting for the claim to go stale.
      this.giveBack(key, name, holder);
      throw error;
    }
    if (settled) return result;
    this.logger.warn(
      `account ${owner.accountId} audience ${owner.audienceId}: the claim on its list name was taken over while Iterable was asked` +
        (result.created ? ` (list ${result.listId} was created and is left unused)` : ''),
    );
    return 'lost';
  }

  /**
   * Releases a claim once storage takes writes again (about 23 s of tries, in the background: the answer goes out
   * now, a 5xx that mParticle retries). A claim left held would make every retry wait until it is stale (30 s).
   */
  private giveBack(key: string, name: string, holder: string): void {
    untilWritten(() => this.claims.release(key, name, holder)).catch((error: unknown) => {
      const why = error instanceof Error ? error.message : String(error);
      this.logger.warn(`a claim on a list name could not be given back; it is taken over once stale: ${why}`);
    });
  }

  /**
   * Deletes the list when it still bears one of `names` (those the rule gives): a list the customer named is
   * never deleted. The caller has made sure no other connection feeds it.
   */
  async deleteIfNamed(project: IterableProject, listId: number, names: string[]): Promise<boolean> {
    return this.with(project, async (client) => {
      const list = (await client.getLists()).find((l) => l.id === listId);
      if (!list || !names.includes(list.name)) return false;
      await client.deleteList(listId);
      await this.claims.forgetList(listId);
      return true;
    });
  }

  private async with<T>(project: IterableProject, work: (client: IterableClient) => Promise<T>): Promise<T> {
    const client = new IterableClient({
      apiKey: project.apiKey,
      dataCenter: project.dataCenter,
      ...(this.env.ITERABLE_API_BASE_URL ? { baseUrlOverride: this.env.ITERABLE_API_BASE_URL } : {}),
      timeoutMs: Math.min(this.env.ITERABLE_TIMEOUT_MS, PROVISION_TIMEOUT_MS),
      logger: this.logger,
      maxSockets: 2,
    });
    try {
      return await work(client);
    } finally {
      client.close();
    }
  }
}
