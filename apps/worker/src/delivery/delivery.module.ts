import { Module } from '@nestjs/common';
import { MetricsModule } from '../metrics/metrics.module';
import { AuditRetentionProcessor } from './audit-retention.processor';
import { IterableClientsService } from './iterable-clients.service';
import { ListDeliveryService } from './list-delivery.service';
import { ListSyncProcessor } from './list-sync.processor';
import { SweeperService } from './sweeper.service';

@Module({
  imports: [MetricsModule],
  providers: [IterableClientsService, ListDeliveryService, ListSyncProcessor, SweeperService, AuditRetentionProcessor],
  exports: [IterableClientsService],
})
export class DeliveryModule {}
