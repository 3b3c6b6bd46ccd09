import { ApiProperty } from '@nestjs/swagger';

/** An mParticle audience of an account and the Iterable list it feeds. */
export class AudienceRefDto {
  @ApiProperty()
  accountId!: number;

  @ApiProperty()
  audienceId!: number;

  @ApiProperty()
  audienceName!: string;

  @ApiProperty({ type: Number, nullable: true, description: 'The Iterable static list; null while the audience names none (its changes are held)' })
  listId!: number | null;
}
