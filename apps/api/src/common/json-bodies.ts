import { BadRequestException, HttpException, PayloadTooLargeException, UnsupportedMediaTypeException } from '@nestjs/common';
import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import getRawBody from 'raw-body';
import type { Secrets } from '@audience-bridge/config';
import { DomainError, DomainErrorCode } from '@audience-bridge/domain';
import { credentialOf, secretsMatch } from '../auth/token-compare';
import { checkJsonShape } from './json-shape';

/** Without a valid token a body may carry at most this much (a registration request is a few hundred bytes). */
export const UNAUTHENTICATED_BODY_BYTES = 16 * 1024;

/** True when the request carries the mParticle token or the admin token, checked in constant time. */
function carriesValidToken(authorization: string | undefined, secrets: Secrets): boolean {
  return (
    secretsMatch(credentialOf(authorization, 'Token'), secrets.MPARTICLE_INBOUND_TOKEN) ||
    secretsMatch(credentialOf(authorization, 'Bearer'), secrets.ADMIN_TOKEN)
  );
}

/** `application/json` or `application/<anything>+json`, parameters aside (what `requireJsonBody` lets through). */
export function isJsonMediaType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const type = contentType.split(';', 1)[0].trim().toLowerCase();
  return type === 'application/json' || /^application\/[^/\s]+\+json$/.test(type);
}

/** The charset a Content-Type names, lower-cased; undefined when it names none. */
function charsetOf(contentType: string | undefined): string | undefined {
  const match = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType ?? '');
  return match?.[1].toLowerCase();
}

/** Decoders of the content encodings a body may come in (as Express's JSON parser took them). */
const DECODERS: Record<string, (() => NodeJS.ReadWriteStream) | undefined> = {
  identity: undefined,
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

/**
 * The body as a stream of its decoded bytes, and the length to expect when it is not encoded; undefined when its
 * Content-Encoding is none we take. A decoder's failure (bytes that are not what the encoding says) ends the stream
 * with an error, as a broken body does.
 */
function decodedBody(request: FastifyRequest, payload: Readable): { stream: Readable; length?: string } | undefined {
  const encoding = (request.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (!(encoding in DECODERS)) return undefined;
  const decoder = DECODERS[encoding];
  if (decoder === undefined) return { stream: payload, length: request.headers['content-length'] };
  const stream = decoder();
  payload.on('error', (error) => stream.emit('error', error));
  return { stream: payload.pipe(stream) as unknown as Readable };
}

/**
 * Runs `answer` once the client has sent the rest of a body we stopped reading (read and dropped, as Express's parser
 * did): answered while it still sends, a client meets a reset connection (EPIPE) instead of the 413. Node's request
 * timeout bounds a client that never finishes.
 */
function answerOnceRead(payload: Readable, answer: () => void): void {
  if (payload.readableEnded || payload.destroyed) {
    answer();
    return;
  }
  let answered = false;
  const once = () => {
    if (answered) return;
    answered = true;
    answer();
  };
  payload.once('end', once);
  payload.once('close', once);
  payload.once('error', once);
  payload.resume();
}

/** A raw-body failure as the answer a client can act on (413 names the limit it crossed). */
function readFailure(error: unknown, trusted: boolean, maxBodyBytes: number): HttpException {
  const { type, status } = error as { type?: string; status?: number };
  if (type === 'entity.too.large' || status === 413) {
    return new PayloadTooLargeException(
      trusted
        ? `request body is larger than ${maxBodyBytes} bytes (MAX_BODY_BYTES)`
        : `request body is larger than ${UNAUTHENTICATED_BODY_BYTES} bytes, the limit without a valid token`,
    );
  }
  return new BadRequestException(`request body could not be read: ${(error as Error).message}`);
}

/**
 * Parses a JSON text as Express's JSON parser did (strict: an object or an array at the top; an empty body is `{}`),
 * then checks its shape (json-shape.ts) before anything else sees it. Throws the 400 to answer.
 */
export function parseJsonBody(text: string): unknown {
  if (text.length === 0) return {};
  const first = text.trimStart()[0];
  if (first !== '{' && first !== '[') throw new BadRequestException('request body is not valid JSON: it must be a JSON object or array');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new BadRequestException(`request body is not valid JSON: ${(error as Error).message}`);
  }
  const issue = checkJsonShape(body);
  if (issue !== undefined) throw new DomainError(DomainErrorCode.InvalidMessage, issue.message, [issue]);
  return body;
}

/**
 * The API's only body parser, sized by who is asking: a request with a valid token may send up to MAX_BODY_BYTES;
 * one without (registration, or anyone guessing) at most UNAUTHENTICATED_BODY_BYTES, so an anonymous client cannot
 * make the API read megabytes (a declared Content-Length over the limit is refused before a byte is read; a body
 * compressed with gzip, deflate or br is limited by what it inflates to, another encoding is answered 415). Bodies
 * reach it only as JSON (`requireJsonBody` answered every other type 415); failures go to the exception filter
 * as the 4xx to answer.
 */
export function registerJsonBodies(fastify: FastifyInstance, maxBodyBytes: number, secrets: Secrets): void {
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', (request: FastifyRequest, payload, done) => {
    const trusted = carriesValidToken(request.headers.authorization, secrets);
    const charset = charsetOf(request.headers['content-type']) ?? 'utf-8';
    if (charset !== 'utf-8' && charset !== 'utf8') {
      done(new UnsupportedMediaTypeException(`unsupported charset "${charset}": a JSON body must be UTF-8`), undefined);
      return;
    }
    const body = decodedBody(request, payload);
    if (body === undefined) {
      done(new UnsupportedMediaTypeException(`unsupported content encoding "${request.headers['content-encoding']}": gzip, deflate or br`), undefined);
      return;
    }
    // The limit holds for the decoded bytes: a small compressed body cannot make the API read megabytes.
    getRawBody(body.stream, { length: body.length, limit: trusted ? maxBodyBytes : UNAUTHENTICATED_BODY_BYTES, encoding: 'utf-8' }).then(
      (text) => {
        let parsed: unknown;
        try {
          parsed = parseJsonBody(text);
        } catch (error) {
          done(error as Error, undefined);
          return;
        }
        done(null, parsed);
      },
      (error: unknown) => {
        // A decoder is ours to free; the request itself stays open for the answer.
        if (body.stream !== payload) body.stream.destroy();
        answerOnceRead(payload, () => done(readFailure(error, trusted, maxBodyBytes), undefined));
      },
    );
  });
}
