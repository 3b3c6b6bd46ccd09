import cluster from 'node:cluster';
import { Controller, Get, Header, Injectable, Logger, Module, ServiceUnavailableException, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { Environment } from '@audience-bridge/config';
import { collectProcessMetrics, registerAttentionGauges, registerBacklogGauges, registerContentionGauges } from '@audience-bridge/metrics';
import { AudienceConnectionsRepository, Database, ListLeasesRepository, MembershipsRepository } from '@audience-bridge/persistence';
import { ListSyncProducer } from '@audience-bridge/queue';
import { AdminTokenGuard } from '../auth/admin-token.guard';
import { askPrimaryForMetrics } from './cluster-metrics';

/**
 * Buckets of the acknowledgement histogram: mParticle wants an answer within 100 ms, so they are fine around it
 * (50, 75, 100, 150 ms) and the p99 alert can tell "just under" from "over".
 */
export const ACK_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1];

/**
 * The API's Prometheus metrics. Counters and histograms are this process's; with API_PROCESSES > 1 a scrape
 * answers the sum over every process (see cluster-metrics.ts), each gauge aggregated as its `aggregator` says.
 */
@Injectable()
export class ApiMetrics {
  readonly registry = new Registry();

  readonly messages = new Counter({
    name: 'audience_bridge_mparticle_messages_total',
    help: 'mParticle Firehose requests answered, by message type and HTTP status',
    labelNames: ['type', 'status'] as const,
    registers: [this.registry],
  });

  readonly ackSeconds = new Histogram({
    name: 'audience_bridge_mparticle_ack_seconds',
    help: 'From an mParticle Firehose request arriving to its answer sent, by message type and HTTP status (mParticle wants < 100 ms)',
    labelNames: ['type', 'status'] as const,
    buckets: ACK_BUCKETS,
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

  /** Whether a scrape must ask the cluster's primary for every process's metrics. */
  private readonly clustered: boolean;

  constructor(
    env: Environment,
    memberships: MembershipsRepository,
    connections: AudienceConnectionsRepository,
    leases: ListLeasesRepository,
    producer: ListSyncProducer,
    db: Database,
  ) {
    this.clustered = cluster.isWorker && env.API_PROCESSES > 1;
    new Gauge({
      name: 'audience_bridge_api_processes',
      help: 'API processes whose metrics this scrape sums (API_PROCESSES when all answered)',
      registers: [this.registry],
      aggregator: 'sum',
    }).set(1);
    collectProcessMetrics(this.registry, 'audience_bridge_api_');
    registerBacklogGauges(this.registry, { backlog: () => memberships.backlog(), queueDepth: () => producer.depth() });
    registerAttentionGauges(this.registry, {
      suspended: () => connections.suspendedCounts(),
      failing: () => leases.failing(),
      heldWithoutList: () => memberships.heldWithoutList(),
    });
    registerContentionGauges(this.registry, db);
  }

  /** The Prometheus text of a scrape: this process's registry, or every API process's when clustered. */
  scrape(): Promise<string> {
    return this.clustered ? askPrimaryForMetrics() : this.registry.metrics();
  }
}

/** Prometheus scrapes with `Authorization: Bearer <ADMIN_TOKEN>` (README "Security"): the figures are not public. */
@ApiExcludeController()
@UseGuards(AdminTokenGuard)
@Controller('metrics')
export class MetricsController {
  private readonly logger = new Logger(MetricsController.name);

  constructor(private readonly metrics: ApiMetrics) {}

  /** 503 when a figure cannot be read (the database down, a process of the cluster not answering): the reason is logged. */
  @Get()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  async scrape(): Promise<string> {
    try {
      return await this.metrics.scrape();
    } catch (error) {
      this.logger.warn(`metrics failed: ${error instanceof Error ? error.message : String(error)}`);
      throw new ServiceUnavailableException('metrics unavailable');
    }
  }
}

@Module({ providers: [ApiMetrics], controllers: [MetricsController], exports: [ApiMetrics] })
export class MetricsModule {}
