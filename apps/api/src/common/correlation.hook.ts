import { STATUS_CODES } from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { correlationIdFrom, withCorrelationId } from '@audience-bridge/config';
import { sendJsonError } from './json-exception.filter';

/**
 * Correlation ids of requests (README "Logs"). Each request's id is Fastify's request id (`genReqId`): its
 * `x-request-id` when sensible, else a new one. `nameRequest` (an onRequest hook) answers it in `x-request-id` on
 * every answer, a refused body's included; `enterRequest` (a preHandler hook) runs once the body is read (a body
 * stream's callbacks would lose the id) and runs the rest of the request under it, so every log line it causes
 * carries it.
 */
export function requestIdOf(raw: IncomingMessage): string {
  return correlationIdFrom(raw.headers['x-request-id']);
}

export function nameRequest(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
  void reply.header('x-request-id', request.id);
  done();
}

export function enterRequest(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
  withCorrelationId(request.id, done);
}

/**
 * Fastify's answer to a request it refuses before any route or hook (`frameworkErrors`: a URL with a broken
 * percent-escape, an unusable Content-Type): a 4xx JSON error of the API's shape, with the request's id, not Fastify's.
 */
export function answerFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
  void reply.header('x-request-id', request.id);
  sendJsonError(reply, { statusCode: status, error: STATUS_CODES[status] ?? 'Bad Request', message: error.message });
}
