import { ApiProperty } from '@nestjs/swagger';
import { CallDto } from '../../audit/dto/deliveries.dto';

export class CallVerdictDto {
  @ApiProperty()
  audienceId!: number;

  @ApiProperty({ type: String, nullable: true })
  mpid!: string | null;

  @ApiProperty()
  userKey!: string;

  @ApiProperty({ type: String, nullable: true })
  email!: string | null;

  @ApiProperty({ type: String, nullable: true })
  userId!: string | null;

  @ApiProperty({ enum: ['add', 'delete'] })
  action!: string;

  @ApiProperty({ enum: ['delivered', 'skipped', 'failed'] })
  outcome!: string;

  @ApiProperty({ type: String, nullable: true })
  reason!: string | null;

  @ApiProperty({ description: 'A failure that is retried (the member waits for the next try)' })
  retryable!: boolean;
}

export class FailureReasonDto {
  @ApiProperty()
  reason!: string;

  @ApiProperty()
  count!: number;
}

/** GET /v1/deliveries/:id: one Iterable call with its per-user verdicts. */
export class DeliveryDetailDto extends CallDto {
  @ApiProperty({ type: String, nullable: true, description: "The call's error, key-like values masked, at most 300 characters" })
  errorSample!: string | null;

  @ApiProperty({ type: () => FailureReasonDto, isArray: true })
  failureReasons!: FailureReasonDto[];

  @ApiProperty({ type: Number, isArray: true })
  audienceIds!: number[];

  @ApiProperty({ type: () => CallVerdictDto, isArray: true, description: 'At most 1000' })
  verdicts!: CallVerdictDto[];

  @ApiProperty()
  verdictsTruncated!: boolean;
}
