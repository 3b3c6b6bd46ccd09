import type { NextFunction, Request, Response } from 'express';
import { FIREHOSE_REQUEST_TYPES } from '@audience-bridge/mparticle';
import type { ApiMetrics } from './api-metrics';

/** The Firehose route: mParticle POSTs every message here. */
export const FIREHOSE_PATH = '/v1/mparticle';

const KNOWN_TYPES = new Set<unknown>(Object.values(FIREHOSE_REQUEST_TYPES));

/** The message type as a label: only the known types, so a client cannot grow the metric without bound. */
export function firehoseType(body: unknown): string {
  const sent = typeof body === 'object' && body !== null ? (body as { type?: unknown }).type : undefined;
  return KNOWN_TYPES.has(sent) ? String(sent) : 'other';
}

/**
 * Times and counts every answer to a Firehose request, whoever gives it: the controller, or a middleware that
 * refused the body (415, 413, broken JSON, hostile shapes) before it. Installed first, so the time runs from the
 * request's headers being read to the last byte of the answer handed to the socket; a request whose client went
 * away before its answer is not counted (no answer reached mParticle).
 */
export function timeMparticleAnswers(metrics: Pick<ApiMetrics, 'messages' | 'ackSeconds'>) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.method === 'POST' && req.path.replace(/\/$/, '') === FIREHOSE_PATH) {
      const started = process.hrtime.bigint();
      res.once('finish', () => {
        const labels = { type: firehoseType(req.body), status: String(res.statusCode) };
        metrics.ackSeconds.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
        metrics.messages.inc(labels);
      });
    }
    next();
  };
}
