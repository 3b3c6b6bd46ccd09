import { ApiProperty } from '@nestjs/swagger';

/** One Iterable call (GET /v1/deliveries/:id has its verdicts). */
export class DeliveryDto {
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

  @ApiProperty({ type: String, nullable: true, description: 'Redacted' })
  error!: string | null;

  @ApiProperty({ description: 'Recorded, not sent (the account is in dry run)' })
  dryRun!: boolean;
}

/** GET /v1/deliveries: newest first, one page. */
export class DeliveriesDto {
  @ApiProperty({ type: () => DeliveryDto, isArray: true })
  items!: DeliveryDto[];

  @ApiProperty({ type: String, nullable: true, description: 'Pass as cursor for the next page; null on the last page' })
  nextCursor!: string | null;
}
