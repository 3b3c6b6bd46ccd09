import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
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

/** The path of a request's URL, without its query and a trailing slash. */
function pathOf(url: string): string {
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

/**
 * Times and counts every answer to a Firehose request, whoever gives it: the controller, or a hook or the body
 * parser that refused the body (415, 413, broken JSON, hostile shapes) before it. The first onRequest hook, so the
 * time runs from the request's headers being read to the last byte of the answer handed to the socket; a request
 * whose client went away before its answer is not counted (no answer reached mParticle: no `finish`).
 */
export function timeMparticleAnswers(metrics: Pick<ApiMetrics, 'messages' | 'ackSeconds'>) {
  return (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    if (request.method === 'POST' && pathOf(request.url) === FIREHOSE_PATH) {
      const started = process.hrtime.bigint();
      reply.raw.once('finish', () => {
        const labels = { type: firehoseType(request.body), status: String(reply.raw.statusCode) };
        metrics.ackSeconds.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
        metrics.messages.inc(labels);
      });
    }
    done();
  };
}
