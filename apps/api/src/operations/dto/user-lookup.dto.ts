import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength, MinLength } from 'class-validator';

/** GET /v1/users: exactly one of mpid, email, customerId. */
export class UserLookupQueryDto {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(64)
  mpid?: string;

  @ApiPropertyOptional({ description: 'Compared with the normalized (lower-case) email Iterable is sent' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(320)
  email?: string;

  @ApiPropertyOptional({ description: 'The Customer ID (userId of Customer ID accounts)' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  customerId?: string;
}

/** mParticle's newest change of a user in an audience: the desired state. */
export class DesiredStateDto {
  @ApiProperty({ enum: ['add', 'delete'] })
  action!: 'add' | 'delete';

  @ApiProperty({ type: String, nullable: true })
  email!: string | null;

  @ApiProperty({ type: String, nullable: true })
  userId!: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'Why the change names nobody Iterable could take' })
  skipReason!: string | null;

  @ApiProperty({ description: "mParticle's timestamp of the change" })
  timestampMs!: number;

  @ApiProperty()
  sourceMessageId!: string;
}

export class IterableStateDto {
  @ApiProperty({ enum: ['subscribed', 'unsubscribed', 'unknown', 'failed'] })
  state!: string;

  @ApiProperty()
  email!: string;

  @ApiProperty({ type: String, nullable: true })
  userId!: string | null;

  @ApiProperty({ type: String, nullable: true })
  reason!: string | null;

  @ApiProperty({ format: 'date-time' })
  updatedAt!: string;
}

export class VerdictDto {
  @ApiProperty({ format: 'date-time' })
  time!: string;

  @ApiProperty({ format: 'uuid' })
  callId!: string;

  @ApiProperty()
  accountId!: number;

  @ApiProperty()
  audienceId!: number;

  @ApiProperty()
  listId!: number;

  @ApiProperty({ enum: ['add', 'delete'] })
  action!: string;

  @ApiProperty({ enum: ['delivered', 'skipped', 'failed'] })
  outcome!: string;

  @ApiProperty({ type: String, nullable: true })
  reason!: string | null;

  @ApiProperty()
  retryable!: boolean;
}

export class UserMembershipDto {
  @ApiProperty()
  accountId!: number;

  @ApiProperty()
  audienceId!: number;

  @ApiProperty({ type: String, nullable: true })
  audienceName!: string | null;

  @ApiProperty({ type: Number, nullable: true })
  listId!: number | null;

  @ApiProperty({ type: String, nullable: true })
  mpid!: string | null;

  @ApiProperty()
  userKey!: string;

  @ApiProperty({ type: () => DesiredStateDto, description: "mParticle's newest change" })
  desired!: DesiredStateDto;

  @ApiProperty({ type: () => IterableStateDto, nullable: true, description: 'What Iterable has (null: never sent)' })
  iterable!: IterableStateDto | null;

  @ApiProperty({ enum: ['pending', 'subscribed', 'unsubscribed', 'unknown', 'failed', 'none', 'held'] })
  state!: string;

  @ApiProperty({ type: () => VerdictDto, isArray: true, description: 'Newest first' })
  history!: VerdictDto[];
}

export class UserLookupDto {
  @ApiProperty({ enum: ['mpid', 'email', 'customerId'] })
  by!: 'mpid' | 'email' | 'customerId';

  @ApiProperty()
  value!: string;

  @ApiProperty({ type: () => UserMembershipDto, isArray: true, description: 'Empty when nothing matches' })
  memberships!: UserMembershipDto[];
}
