import { STATUS_CODES } from 'node:http';
import { json, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Secrets } from '@audience-bridge/config';
import { credentialOf, secretsMatch } from '../auth/token-compare';

/** Without a valid token a body may carry at most this much (a registration request is a few hundred bytes). */
export const UNAUTHENTICATED_BODY_BYTES = 16 * 1024;

const JSON_TYPES = ['application/json', 'application/*+json'];

/** True when the request carries the mParticle token or the admin token, checked in constant time. */
function carriesValidToken(authorization: string | undefined, secrets: Secrets): boolean {
  return (
    secretsMatch(credentialOf(authorization, 'Token'), secrets.MPARTICLE_INBOUND_TOKEN) ||
    secretsMatch(credentialOf(authorization, 'Bearer'), secrets.ADMIN_TOKEN)
  );
}

/**
 * The JSON body parser, sized by who is asking: a request with a valid token may send up to MAX_BODY_BYTES;
 * one without (registration, or anyone guessing) at most UNAUTHENTICATED_BODY_BYTES, so an anonymous client
 * cannot make the API parse megabytes. Parse failures are answered here as JSON (413 names the limit).
 */
export function jsonBodies(maxBodyBytes: number, secrets: Secrets): RequestHandler {
  const authenticated = json({ limit: maxBodyBytes, type: JSON_TYPES });
  const anonymous = json({ limit: UNAUTHENTICATED_BODY_BYTES, type: JSON_TYPES });
  return (req: Request, res: Response, next: NextFunction) => {
    const trusted = carriesValidToken(req.headers.authorization, secrets);
    (trusted ? authenticated : anonymous)(req, res, (error?: unknown) => {
      if (error === undefined) return next();
      const status = (error as { status?: number }).status ?? 400;
      if (status === 413) {
        const message = trusted
          ? `request body is larger than ${maxBodyBytes} bytes (MAX_BODY_BYTES)`
          : `request body is larger than ${UNAUTHENTICATED_BODY_BYTES} bytes, the limit without a valid token`;
        res.status(413).json({ statusCode: 413, error: 'Payload Too Large', message });
        return;
      }
      if (status >= 400 && status < 500) {
        res
          .status(status)
          .json({ statusCode: status, error: STATUS_CODES[status] ?? 'Bad Request', message: `request body is not valid JSON: ${(error as Error).message}` });
        return;
      }
      next(error);
    });
  };
}
