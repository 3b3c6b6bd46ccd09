import { Module } from '@nestjs/common';
import { AccountsController } from './accounts.controller';
import { StatsController } from './stats.controller';

/** The operator's API: settings, suspensions, stats and per-user state (Bearer ADMIN_TOKEN). */
@Module({ controllers: [AccountsController, StatsController] })
export class AdminModule {}
