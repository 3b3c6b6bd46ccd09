import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { correlationIdFrom, withCorrelationId } from '@audience-bridge/config';

/** Each request's correlation id, set by `nameRequest`. */
const ids = new WeakMap<FastifyRequest, string>();

/**
 * Correlation ids of requests (README "Logs"): `nameRequest` (an onRequest hook) gives each request its id (its
 * `x-request-id` when sensible, else a new one), answered in `x-request-id` on every answer, a refused body's
 * included; `enterRequest` (a preHandler hook) runs once the body is read (a body stream's callbacks would lose the
 * id) and runs the rest of the request under it, so every log line it causes carries it.
 */
export function nameRequest(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
  const id = correlationIdFrom(request.headers['x-request-id']);
  ids.set(request, id);
  void reply.header('x-request-id', id);
  done();
}

export function enterRequest(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
  const id = ids.get(request);
  if (id === undefined) done();
  else withCorrelationId(id, done);
}

/**
 * Fastify's answer to a request it refuses before any route or hook (`frameworkErrors`: a URL with a broken
 * percent-escape, an unusable Content-Type): a 4xx JSON error of the API's shape, with the request's id, not Fastify's.
 */
export function answerFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
  void reply
    .header('x-request-id', correlationIdFrom(request.headers['x-request-id']))
    .code(status)
    .type('application/json; charset=utf-8')
    .send({ statusCode: status, error: STATUS_CODES[status] ?? 'Bad Request', message: error.message });
}
