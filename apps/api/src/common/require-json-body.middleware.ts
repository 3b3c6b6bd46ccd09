import type { NextFunction, Request, Response } from 'express';

/** A request that carries a body must say it is JSON; anything else is answered 415 before it is read. */
export function requireJsonBody(req: Request, res: Response, next: NextFunction): void {
  const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  if (!hasBody || req.is(['application/json', 'application/*+json'])) {
    next();
    return;
  }
  res.status(415).json({
    statusCode: 415,
    error: 'Unsupported Media Type',
    message: `Content-Type must be application/json (got ${req.headers['content-type'] ?? 'none'})`,
  });
}
