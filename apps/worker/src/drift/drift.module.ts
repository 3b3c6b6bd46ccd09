import { Module } from '@nestjs/common';
import { DriftRepository } from '@audience-bridge/persistence';
import { DriftQueueModule } from '@audience-bridge/queue';
import { MetricsModule } from '../metrics/metrics.module';
import { DriftCheckProcessor } from './drift-check.processor';
import { DriftCheckService } from './drift-check.service';
import { DriftMetrics } from './drift-metrics.service';
import { DriftSchedulerService } from './drift-scheduler.service';
import { ListReadersService } from './list-readers.service';

/** Drift checks: compare an Iterable list with the desired state, report, and repair through delivery (README "Drift checks"). */
@Module({
  imports: [MetricsModule, DriftQueueModule.register()],
  providers: [DriftRepository, ListReadersService, DriftMetrics, DriftCheckService, DriftCheckProcessor, DriftSchedulerService],
})
export class DriftModule {}
