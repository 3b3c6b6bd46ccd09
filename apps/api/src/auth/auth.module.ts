import { DynamicModule, Global, Module } from '@nestjs/common';
import type { Secrets } from '@audience-bridge/config';
import { AdminTokenGuard } from './admin-token.guard';
import { SECRETS } from './secrets';

/** The two tokens the API checks (ADMIN_TOKEN, MPARTICLE_INBOUND_TOKEN), injectable everywhere. */
@Global()
@Module({})
export class AuthModule {
  static forRoot(secrets: Secrets): DynamicModule {
    return { module: AuthModule, providers: [{ provide: SECRETS, useValue: secrets }, AdminTokenGuard], exports: [SECRETS, AdminTokenGuard] };
  }
}
