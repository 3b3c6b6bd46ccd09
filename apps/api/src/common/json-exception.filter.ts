import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Response } from 'express';

/** The JSON body of every error answer. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  details?: unknown;
  /** Only on 500s: quote it to an operator, who finds the full error in the logs under it. */
  errorId?: string;
}

/** Answers every error as JSON. A 4xx says what was wrong; a 5xx says nothing internal and logs the error under an id. */
@Catch()
export class JsonExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger(JsonExceptionFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const body = this.toBody(exception);
    response.status(body.statusCode).json(body);
  }

  private toBody(exception: unknown): ErrorBody {
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const payload = exception.getResponse();
      const fields = typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>) : { message: payload };
      const message = Array.isArray(fields.message) ? fields.message.join('; ') : String(fields.message ?? exception.message);
      return {
        statusCode: status,
        error: typeof fields.error === 'string' ? fields.error : (HttpStatus[status] ?? 'Error'),
        message,
        ...(fields.details !== undefined ? { details: fields.details } : {}),
      };
    }
    const errorId = randomUUID();
    this.logger.error(`Unhandled error ${errorId}`, exception instanceof Error ? exception.stack : String(exception));
    return { statusCode: 500, error: 'Internal Server Error', message: 'Internal server error', errorId };
  }
}
