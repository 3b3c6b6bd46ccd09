import { Body, Controller, Headers, HttpCode, HttpException, Post } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { DomainError } from '@audience-bridge/domain';
import { isStorageUnavailable } from '@audience-bridge/persistence';
import { FIREHOSE_REQUEST_TYPES } from '@audience-bridge/mparticle';
import { ApiMetrics } from '../metrics/api-metrics';
import { MparticleService } from './mparticle.service';

@ApiTags('mParticle')
@Controller('v1/mparticle')
export class MparticleController {
  constructor(
    private readonly service: MparticleService,
    private readonly metrics: ApiMetrics,
  ) {}

  /**
   * Every Firehose message type, dispatched on `type`. Registration needs no auth; every other type needs
   * `Authorization: Token <MPARTICLE_INBOUND_TOKEN>`. Answers the matching response message.
   */
  @Post()
  @HttpCode(200)
  @ApiOperation({ summary: 'mParticle Firehose endpoint (registration, audience subscription, membership change)' })
  @ApiBody({ schema: { type: 'object', description: 'A Firehose request message; see docs/mparticle-firehose.md' } })
  async handle(@Body() body: unknown, @Headers('authorization') authorization?: string): Promise<object> {
    // Only known types become label values, so a client cannot grow the metric without bound.
    const sent = typeof body === 'object' && body !== null ? (body as { type?: unknown }).type : undefined;
    const type = (Object.values(FIREHOSE_REQUEST_TYPES) as unknown[]).includes(sent) ? String(sent) : 'other';
    try {
      const answer = await this.service.handle(body, authorization);
      this.metrics.messages.inc({ type, status: '200' });
      return answer;
    } catch (error) {
      const status = error instanceof HttpException ? error.getStatus() : error instanceof DomainError ? 400 : isStorageUnavailable(error) ? 503 : 500;
      this.metrics.messages.inc({ type, status: String(status) });
      throw error;
    }
  }
}
