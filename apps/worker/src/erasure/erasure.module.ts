import { Module } from '@nestjs/common';
import { DeliveryModule } from '../delivery/delivery.module';
import { MetricsModule } from '../metrics/metrics.module';
import { ErasureService } from './erasure.service';

/** Data subject erasure: forgetting users at Iterable and removing what delivery kept of them. */
@Module({ imports: [MetricsModule, DeliveryModule], providers: [ErasureService] })
export class ErasureModule {}
