/**
 * active: changes are forwarded; suspended: Iterable refused the list (changes wait for a resume);
 * removed: mParticle removed the subscription (nothing more is forwarded; the Iterable list is left as it is).
 */
export const CONNECTION_STATUSES = ['active', 'suspended', 'removed'] as const;
export type ConnectionStatus = (typeof CONNECTION_STATUSES)[number];

/** One mParticle audience forwarded into one Iterable static list. */
export interface AudienceConnection {
  accountId: number;
  audienceId: number;
  audienceName: string;
  /** The Iterable static list id (mParticle's `listId` subscription setting). */
  listId: number;
  status: ConnectionStatus;
  suspendedReason?: string;
}
