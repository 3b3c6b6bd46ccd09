import { Injectable, Logger } from '@nestjs/common';
import { Environment } from '@audience-bridge/config';
import type { DataCenter } from '@audience-bridge/domain';
import { IterableClient } from '@audience-bridge/iterable-client';

/** How long a subscription answer may wait on Iterable for a list (mParticle wants answers in seconds). */
const PROVISION_TIMEOUT_MS = 5000;

export interface IterableProject {
  apiKey: string;
  dataCenter: DataCenter;
}

/**
 * Lists created for audiences that name none (README "Lists created for you"). Called while answering an
 * audience subscription, which is rare (a connection, not a membership change), so the answer can carry the
 * new list id for mParticle to show. A list of that name is looked for first: a repeated or retried
 * subscription never creates a second one.
 */
@Injectable()
export class ListProvisioner {
  private readonly logger = new Logger(ListProvisioner.name);

  constructor(private readonly env: Environment) {}

  /** The id of the static list named `name` in the project, created if there is none. */
  async ensureList(project: IterableProject, name: string, description: string): Promise<{ listId: number; created: boolean }> {
    return this.with(project, async (client) => {
      const existing = (await client.getLists()).find((list) => list.name === name);
      if (existing) return { listId: existing.id, created: false };
      return { listId: await client.createList(name, description), created: true };
    });
  }

  /** Deletes the list when it still bears `name` (the one the rule gives): a list the customer named is never deleted. */
  async deleteIfNamed(project: IterableProject, listId: number, name: string): Promise<boolean> {
    return this.with(project, async (client) => {
      const list = (await client.getLists()).find((l) => l.id === listId);
      if (!list || list.name !== name) return false;
      await client.deleteList(listId);
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
