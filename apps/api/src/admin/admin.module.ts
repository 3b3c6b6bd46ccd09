import { Module } from '@nestjs/common';
import { MetricsModule } from '../metrics/api-metrics';
import { AccountsController } from './accounts.controller';

/** The operator's API: account and audience settings, suspensions and resumes (Bearer ADMIN_TOKEN). */
@Module({ imports: [MetricsModule], controllers: [AccountsController] })
export class AdminModule {}
