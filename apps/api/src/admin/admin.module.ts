import { Module } from '@nestjs/common';
import { AccountsController } from './accounts.controller';

/** The operator's API: account and audience settings, suspensions and resumes (Bearer ADMIN_TOKEN). */
@Module({ controllers: [AccountsController] })
export class AdminModule {}
