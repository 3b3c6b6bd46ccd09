import { ApiProperty } from '@nestjs/swagger';

/** List members of every list by what Iterable has. */
export class MemberCountsDto {
  @ApiProperty()
  subscribed!: number;

  @ApiProperty()
  unsubscribed!: number;

  @ApiProperty()
  unknown!: number;

  @ApiProperty({ description: 'Refused for good: what a replay sends again' })
  failed!: number;
}

/** Iterable calls recorded (within the audit retention). */
export class CallCountsDto {
  @ApiProperty()
  calls!: number;

  @ApiProperty({ description: 'Not 200 (dry runs aside)' })
  failedCalls!: number;

  @ApiProperty({ description: 'Answered 429' })
  rateLimited!: number;
}

/** GET /v1/stats */
export class StatsDto {
  @ApiProperty({ description: 'Members waiting for Iterable (inbox rows)' })
  pending!: number;

  @ApiProperty({ type: Number, nullable: true, description: 'How long the oldest pending member has waited; null when none waits' })
  oldestPendingAgeMs!: number | null;

  @ApiProperty({ description: 'Lists backing off after transient failures' })
  failingLists!: number;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'Since when the longest-failing list fails' })
  failingSince!: string | null;

  @ApiProperty({ description: 'Changes held for audiences that name no list' })
  heldWithoutList!: number;

  @ApiProperty({ description: 'Accounts suspended (a rejected API key): nothing of theirs goes out until resumed or given a new key' })
  suspendedAccounts!: number;

  @ApiProperty({ description: 'Audience connections suspended (an unknown list), removed ones aside' })
  suspendedAudiences!: number;

  @ApiProperty({ type: () => MemberCountsDto })
  members!: MemberCountsDto;

  @ApiProperty({ description: 'Membership messages accepted' })
  messagesAccepted!: number;

  @ApiProperty({ description: 'Repeats of accepted messages, acknowledged without effect' })
  duplicates!: number;

  @ApiProperty({ type: () => CallCountsDto })
  iterable!: CallCountsDto;
}
