import { Module } from '@nestjs/common';
import { MetricsModule } from '../metrics/api-metrics';
import { MparticleController } from './mparticle.controller';
import { ListProvisioner } from './list-provisioner.service';
import { MparticleService } from './mparticle.service';

@Module({ imports: [MetricsModule], controllers: [MparticleController], providers: [MparticleService, ListProvisioner] })
export class MparticleModule {}
