import { Injectable } from '@nestjs/common';
import { Database } from '../database';
import { LIST_MEMBER_STATES, ListMemberState } from '../entities';
import { inboxBacklog } from './inbox-counts';
import { listMemberCounts } from './list-member-counts';
import { candidatesByKeys, KEYED } from './membership-keys';
import { messageCounts } from './message-counts';

/** One user's membership of one audience: what mParticle wants, and where the audience's list stands for that member. */
export interface UserMembershipView {
  accountId: number;
  audienceId: number;
  listId: number | null;
  action: 'add' | 'delete';
  email: string | null;
  userId: string | null;
  skipReason: string | null;
  timestampMs: number;
  sourceMessageId: string;
  updatedAt: Date;
  /**
   * `held` when the audience names no list; `pending` while an inbox row for the member waits; otherwise what Iterable
   * has (list_members), `none` if never sent.
   */
  state: 'pending' | ListMemberState | 'none' | 'held';
  /** Why the member failed or is held. */
  reason: string | null;
}

@Injectable()
export class MembershipsRepository {
  constructor(private readonly db: Database) {}

  async byMpid(mpid: string): Promise<UserMembershipView[]> {
    const rows = await this.db.query<Record<string, string | number | null>>(
      `SELECT m.account_id, m.audience_id, c.list_id, m.action, m.email, m.user_id, m.skip_reason, m.timestamp_ms, m.source_message_id, m.updated_at,
              lm.state, lm.reason,
              (SELECT COUNT(*) FROM sync_inbox i WHERE i.list_id = c.list_id AND i.member_key = m.email) AS waiting
       FROM (${candidatesByKeys(1)}) k CROSS JOIN memberships m
       LEFT JOIN audience_connections c ON c.account_id = m.account_id AND c.audience_id = m.audience_id
       LEFT JOIN list_members lm ON lm.list_id = c.list_id AND lm.member_key = m.email
       WHERE ${KEYED} AND m.mpid = ? ORDER BY m.account_id, m.audience_id`,
      // A user with an mpid is keyed by it (userKeyOf).
      [mpid, mpid],
    );
    return rows.map((r) => ({
      accountId: Number(r['account_id']),
      audienceId: Number(r['audience_id']),
      listId: r['list_id'] === null ? null : Number(r['list_id']),
      action: r['action'] === 'add' ? 'add' : 'delete',
      email: r['email'] === null ? null : String(r['email']),
      userId: r['user_id'] === null ? null : String(r['user_id']),
      skipReason: r['skip_reason'] === null ? null : String(r['skip_reason']),
      timestampMs: Number(r['timestamp_ms']),
      sourceMessageId: String(r['source_message_id']),
      updatedAt: new Date(String(r['updated_at'])),
      ...(r['list_id'] === null
        ? { state: 'held' as const, reason: 'audience has no listId' }
        : {
            state: Number(r['waiting']) > 0 ? ('pending' as const) : r['state'] === null ? ('none' as const) : (String(r['state']) as ListMemberState),
            reason: r['reason'] === null ? null : String(r['reason']),
          }),
    }));
  }

  /** Inbox rows waiting (members to bring to their newest state), and the age of the oldest (the lag). */
  async backlog(now = Date.now()): Promise<{ pending: number; oldestAgeMs: number | null }> {
    // From the kept counts (inbox-counts.ts): a count of the inbox itself took seconds after an outage, every scrape.
    const lists = await inboxBacklog(this.db);
    const oldest = lists.reduce<number | null>((min, l) => (l.oldestMs !== null && (min === null || l.oldestMs < min) ? l.oldestMs : min), null);
    return { pending: lists.reduce((sum, l) => sum + l.n, 0), oldestAgeMs: oldest === null ? null : Math.max(0, now - oldest) };
  }

  /** Changes recorded for audiences that name no list yet (held until a message or an operator names one). */
  async heldWithoutList(): Promise<number> {
    const [row] = await this.db.query<{ n: number | string }>(
      `SELECT COUNT(*) AS n FROM memberships m ` +
        `JOIN audience_connections c ON c.account_id = m.account_id AND c.audience_id = m.audience_id WHERE c.list_id IS NULL`,
    );
    return Number(row?.n ?? 0);
  }

  /** Members of every list by what Iterable has (the counts the database keeps: a few rows). */
  async countsByState(): Promise<Record<ListMemberState, number>> {
    const counts = Object.fromEntries(LIST_MEMBER_STATES.map((s) => [s, 0])) as Record<ListMemberState, number>;
    for (const row of await listMemberCounts(this.db)) counts[row.state as ListMemberState] += row.n;
    return counts;
  }

  /** Membership messages accepted (within retention), and repeats of them acknowledged without effect: kept counts. */
  messageCounts(): Promise<{ accepted: number; duplicates: number }> {
    return messageCounts(this.db);
  }
}
