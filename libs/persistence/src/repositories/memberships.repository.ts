import { Injectable } from '@nestjs/common';
import { Database } from '../database';
import { MEMBERSHIP_STATES, MembershipEntity, MembershipState } from '../entities';

export interface UserMembershipView {
  accountId: number;
  audienceId: number;
  listId: number;
  action: MembershipEntity['action'];
  state: MembershipState;
  email: string | null;
  userId: string | null;
  skipReason: string | null;
  lastError: string | null;
  attempts: number;
  timestampMs: number;
  sourceMessageId: string;
  updatedAt: Date;
}

@Injectable()
export class MembershipsRepository {
  constructor(private readonly db: Database) {}

  async byMpid(mpid: string): Promise<UserMembershipView[]> {
    const rows = await this.db.dataSource.getRepository(MembershipEntity).find({ where: { mpid }, order: { accountId: 'ASC', audienceId: 'ASC' } });
    return rows.map((r) => ({
      accountId: r.accountId,
      audienceId: r.audienceId,
      listId: r.listId,
      action: r.action,
      state: r.state,
      email: r.email,
      userId: r.userId,
      skipReason: r.skipReason,
      lastError: r.lastError,
      attempts: r.attempts,
      timestampMs: r.timestampMs,
      sourceMessageId: r.sourceMessageId,
      updatedAt: r.updatedAt,
    }));
  }

  /** Changes waiting for delivery (an index count: cheap enough for every metrics scrape). */
  async pendingCount(): Promise<number> {
    const [row] = await this.db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM memberships WHERE state = 'pending'`);
    return Number(row?.n ?? 0);
  }

  async countsByState(): Promise<Record<MembershipState, number>> {
    const rows = await this.db.query<{ state: MembershipState; n: number | string }>(`SELECT state, COUNT(*) AS n FROM memberships GROUP BY state`);
    const counts = Object.fromEntries(MEMBERSHIP_STATES.map((s) => [s, 0])) as Record<MembershipState, number>;
    for (const row of rows) counts[row.state] = Number(row.n);
    return counts;
  }

  /** Membership messages accepted, and repeats of them acknowledged without effect. */
  async messageCounts(): Promise<{ accepted: number; duplicates: number }> {
    const [row] = await this.db.query<{ n: number | string; d: number | string | null }>(
      `SELECT COUNT(*) AS n, SUM(duplicate_count) AS d FROM received_messages`,
    );
    return { accepted: Number(row?.n ?? 0), duplicates: Number(row?.d ?? 0) };
  }
}
