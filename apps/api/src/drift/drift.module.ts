import { Module } from '@nestjs/common';
import { DriftRepository } from '@audience-bridge/persistence';
import { DriftQueueModule } from '@audience-bridge/queue';
import { DriftController } from './drift.controller';

/** Drift checks of Iterable lists: asked for and read here, run by the workers (Bearer ADMIN_TOKEN). */
@Module({ imports: [DriftQueueModule.register()], providers: [DriftRepository], controllers: [DriftController] })
export class DriftModule {}
