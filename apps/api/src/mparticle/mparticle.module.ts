import { Module } from '@nestjs/common';
import { MetricsModule } from '../metrics/api-metrics';
import { MparticleController } from './mparticle.controller';
import { MparticleService } from './mparticle.service';

@Module({ imports: [MetricsModule], controllers: [MparticleController], providers: [MparticleService] })
export class MparticleModule {}
