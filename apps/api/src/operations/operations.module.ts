import { Module } from '@nestjs/common';
import { OperationsRepository } from '@audience-bridge/persistence';
import { OperationsController } from './operations.controller';

/** The read side of the operations console (Bearer ADMIN_TOKEN); the console's own files are served by main.ts. */
@Module({ providers: [OperationsRepository], controllers: [OperationsController] })
export class OperationsModule {}
