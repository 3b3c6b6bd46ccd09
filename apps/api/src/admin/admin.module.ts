import { Module } from '@nestjs/common';
import { MetricsModule } from '../metrics/api-metrics';
import { ListProvisioner } from '../mparticle/list-provisioner.service';
import { AccountsController } from './accounts.controller';

/** The operator's API: account and audience settings, suspensions and resumes (Bearer ADMIN_TOKEN). */
@Module({ imports: [MetricsModule], controllers: [AccountsController], providers: [ListProvisioner] })
export class AdminModule {}
