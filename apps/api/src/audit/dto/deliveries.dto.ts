import { ApiProperty } from '@nestjs/swagger';

/** What every view of one Iterable call shows. */
export class CallDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ format: 'date-time' })
  time!: string;

  @ApiProperty()
  accountId!: number;

  @ApiProperty()
  listId!: number;

  @ApiProperty({ enum: ['subscribe', 'unsubscribe'] })
  action!: string;

  @ApiProperty({ description: 'Members the call named' })
  subscriberCount!: number;

  @ApiProperty({ type: Number, nullable: true, description: 'Null for network errors and dry runs' })
  httpStatus!: number | null;

  @ApiProperty()
  successCount!: number;

  @ApiProperty()
  failureCount!: number;

  @ApiProperty()
  durationMs!: number;

  @ApiProperty({ description: 'Recorded, not sent (the account is in dry run)' })
  dryRun!: boolean;
}

/** One Iterable call (GET /v1/deliveries/:id has its verdicts). */
export class DeliveryDto extends CallDto {
  @ApiProperty({ type: String, nullable: true, description: 'Redacted' })
  error!: string | null;
}

/** GET /v1/deliveries: newest first, one page. */
export class DeliveriesDto {
  @ApiProperty({ type: () => DeliveryDto, isArray: true })
  items!: DeliveryDto[];

  @ApiProperty({ type: String, nullable: true, description: 'Pass as cursor for the next page; null on the last page' })
  nextCursor!: string | null;
}
