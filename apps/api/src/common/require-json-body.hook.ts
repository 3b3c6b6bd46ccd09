import { UnsupportedMediaTypeException } from '@nestjs/common';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { isJsonMediaType } from './json-bodies';

/** A request that carries a body must say it is JSON; anything else is answered 415 (by the exception filter) before it is read. */
export function requireJsonBody(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
  const hasBody = Number(request.headers['content-length'] ?? 0) > 0 || request.headers['transfer-encoding'] !== undefined;
  if (!hasBody || isJsonMediaType(request.headers['content-type'])) done();
  else done(new UnsupportedMediaTypeException(`Content-Type must be application/json (got ${request.headers['content-type'] ?? 'none'})`));
}
