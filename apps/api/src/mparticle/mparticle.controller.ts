import { Body, Controller, Headers, HttpCode, Post } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { MparticleService } from './mparticle.service';

/** Every answer of this route is counted and timed by `timeMparticleAnswers` (metrics/mparticle-answers.ts). */
@ApiTags('mParticle')
@Controller('v1/mparticle')
export class MparticleController {
  constructor(private readonly service: MparticleService) {}

  /**
   * Every Firehose message type, dispatched on `type`. Registration needs no auth; every other type needs
   * `Authorization: Token <MPARTICLE_INBOUND_TOKEN>`. Answers the matching response message.
   */
  @Post()
  @HttpCode(200)
  @ApiOperation({ summary: 'mParticle Firehose endpoint (registration, audience subscription, membership change)' })
  @ApiBody({ schema: { type: 'object', description: 'A Firehose request message; see docs/mparticle-firehose.md' } })
  handle(@Body() body: unknown, @Headers('authorization') authorization?: string): Promise<object> {
    return this.service.handle(body, authorization);
  }
}
