import { Module } from '@nestjs/common';
import { OperationsModule } from '../operations/operations.module';
import { AuditController } from './audit.controller';

/** The delivery audit, and the operations console's reads built on it. */
@Module({ imports: [OperationsModule], controllers: [AuditController] })
export class AuditModule {}
