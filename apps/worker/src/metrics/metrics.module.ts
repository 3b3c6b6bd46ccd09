import { Module } from '@nestjs/common';
import { WorkerMetrics } from './worker-metrics.service';

@Module({ providers: [WorkerMetrics], exports: [WorkerMetrics] })
export class MetricsModule {}
