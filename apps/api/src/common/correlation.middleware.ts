import type { NextFunction, Request, Response } from 'express';
import { correlationIdFrom, withCorrelationId } from '@audience-bridge/config';

/**
 * Correlation ids of requests (README "Logs"): `nameRequest` runs first and gives each request its id (its
 * `x-request-id` when sensible, else a new one), answered in `x-request-id` on every answer, a refused body's
 * included; `enterRequest` runs once the body is read (a body stream's callbacks would lose the id) and runs the
 * rest of the request under it, so every log line it causes carries it.
 */
export function nameRequest(req: Request, res: Response, next: NextFunction): void {
  const id = correlationIdFrom(req.headers['x-request-id']);
  res.locals['correlationId'] = id;
  res.setHeader('x-request-id', id);
  next();
}

export function enterRequest(_req: Request, res: Response, next: NextFunction): void {
  withCorrelationId(String(res.locals['correlationId']), next);
}
