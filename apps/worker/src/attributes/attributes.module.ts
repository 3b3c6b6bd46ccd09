import { Module } from '@nestjs/common';
import { DeliveryModule } from '../delivery/delivery.module';
import { AttributeDeliveryService } from './attribute-delivery.service';

/** Forwarded mParticle user attributes: users/bulkUpdate batches from the attribute inbox. */
@Module({ imports: [DeliveryModule], providers: [AttributeDeliveryService] })
export class AttributesModule {}
