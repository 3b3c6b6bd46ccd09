import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { isJsonMediaType } from './json-bodies';

/** A request that carries a body must say it is JSON; anything else is answered 415 before it is read. */
export function requireJsonBody(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
  const hasBody = Number(request.headers['content-length'] ?? 0) > 0 || request.headers['transfer-encoding'] !== undefined;
  if (!hasBody || isJsonMediaType(request.headers['content-type'])) {
    done();
    return;
  }
  void reply.code(415).send({
    statusCode: 415,
    error: 'Unsupported Media Type',
    message: `Content-Type must be application/json (got ${request.headers['content-type'] ?? 'none'})`,
  });
}
