import { Controller, Get, Header, Injectable, Module, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
import { registerBacklogGauges, registerContentionGauges } from '@audience-bridge/metrics';
import { Database, MembershipsRepository } from '@audience-bridge/persistence';
import { ListSyncProducer } from '@audience-bridge/queue';
import { AdminTokenGuard } from '../auth/admin-token.guard';

/** The API's Prometheus metrics. */
@Injectable()
export class ApiMetrics {
  readonly registry = new Registry();

  readonly messages = new Counter({
    name: 'audience_bridge_mparticle_messages_total',
    help: 'mParticle messages answered, by type and HTTP status',
    labelNames: ['type', 'status'] as const,
    registers: [this.registry],
  });

  readonly apiKeyChanges = new Counter({
    name: 'audience_bridge_api_key_changes_total',
    help: 'Iterable API keys that took effect, by where they came from (mparticle, admin)',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });

  readonly erasedChangesDropped = new Counter({
    name: 'audience_bridge_erased_changes_dropped_total',
    help: 'Membership and attribute changes of an erased subject, stamped before the erasure, answered 200 and dropped',
    registers: [this.registry],
  });

  constructor(memberships: MembershipsRepository, producer: ListSyncProducer, db: Database) {
    collectDefaultMetrics({ register: this.registry, prefix: 'audience_bridge_api_' });
    registerBacklogGauges(this.registry, { backlog: () => memberships.backlog(), queueDepth: () => producer.depth() });
    registerContentionGauges(this.registry, db);
  }
}

/** Prometheus scrapes with `Authorization: Bearer <ADMIN_TOKEN>` (README "Security"): the figures are not public. */
@ApiExcludeController()
@UseGuards(AdminTokenGuard)
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: ApiMetrics) {}

  @Get()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}

@Module({ providers: [ApiMetrics], controllers: [MetricsController], exports: [ApiMetrics] })
export class MetricsModule {}
