import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import { DomainError, DomainErrorCode } from '@audience-bridge/domain';
import { isStorageUnavailable } from '@audience-bridge/persistence';

/** Seconds a client is asked to wait before sending again while storage cannot commit. */
export const STORAGE_RETRY_AFTER_SECONDS = 5;

/** The JSON body of every error answer. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  /** For invalid input: one entry per invalid field, `{path, message}`. */
  details?: unknown;
  /** Only on 500s: quote it to an operator, who finds the full error in the logs under it. */
  errorId?: string;
}

/**
 * Sends an error answer. Typed here: a route's own type (`@Header('content-type', 'text/plain…')` of /metrics) is
 * set before it fails.
 */
export function sendJsonError(reply: FastifyReply, body: ErrorBody): void {
  void reply.status(body.statusCode).type('application/json; charset=utf-8').send(body);
}

const DOMAIN_STATUS: Record<DomainErrorCode, number> = {
  [DomainErrorCode.InvalidMessage]: 400,
  [DomainErrorCode.UnsupportedMessageType]: 400,
  [DomainErrorCode.InvalidSettings]: 400,
  [DomainErrorCode.AccountNotFound]: 404,
  [DomainErrorCode.ConnectionNotFound]: 404,
  [DomainErrorCode.InvalidConfiguration]: 500,
};

/**
 * Answers every error as JSON. A 4xx says what was wrong (and which fields); a 5xx says nothing internal
 * and logs the error under an id. Nothing a client sends can produce a 5xx by itself.
 */
@Catch()
export class JsonExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger(JsonExceptionFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<FastifyReply>();
    if (isStorageUnavailable(exception)) {
      // Nothing of the request was stored: a 503 that mParticle retries, never a 200 (README "What a 200 means").
      const errorId = randomUUID();
      this.logger.error(`Storage cannot commit (${errorId}): ${exception instanceof Error ? exception.message : String(exception)}`);
      void response.header('Retry-After', String(STORAGE_RETRY_AFTER_SECONDS));
      sendJsonError(response, {
        statusCode: 503,
        error: 'Service Unavailable',
        message: 'storage cannot commit right now; nothing of this request was stored, send it again',
        errorId,
      });
      return;
    }
    sendJsonError(response, this.toBody(exception));
  }

  private toBody(exception: unknown): ErrorBody {
    if (exception instanceof DomainError) {
      const status = DOMAIN_STATUS[exception.code];
      if (status < 500) {
        return {
          statusCode: status,
          error: STATUS_CODES[status] ?? 'Bad Request',
          message: exception.message,
          details: { code: exception.code, fields: exception.details ?? [] },
        };
      }
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const payload = exception.getResponse();
      const fields = typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>) : { message: payload };
      const message = Array.isArray(fields.message) ? fields.message.join('; ') : String(fields.message ?? exception.message);
      return {
        statusCode: status,
        error: STATUS_CODES[status] ?? 'Error',
        message,
        ...(Array.isArray(fields.message) ? { details: { fields: fields.message } } : {}),
      };
    }
    const errorId = randomUUID();
    this.logger.error(
      `Unhandled error ${errorId}: ${exception instanceof Error ? exception.message : String(exception)}`,
      exception instanceof Error ? exception.stack : undefined,
    );
    return { statusCode: 500, error: 'Internal Server Error', message: 'Internal server error', errorId };
  }
}
