import { CanActivate, ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import type { Secrets } from '@audience-bridge/config';
import type { IncomingHttpHeaders } from 'node:http';
import { SECRETS } from './secrets';
import { credentialOf, secretsMatch } from './token-compare';

/** The admin and audit API: `Authorization: Bearer <ADMIN_TOKEN>`. */
@Injectable()
export class AdminTokenGuard implements CanActivate {
  constructor(@Inject(SECRETS) private readonly secrets: Secrets) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{ headers: IncomingHttpHeaders }>();
    if (!secretsMatch(credentialOf(request.headers.authorization, 'Bearer'), this.secrets.ADMIN_TOKEN)) {
      throw new UnauthorizedException('Authorization: Bearer <ADMIN_TOKEN> is missing or wrong');
    }
    return true;
  }
}
