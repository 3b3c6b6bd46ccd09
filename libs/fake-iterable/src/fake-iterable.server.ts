import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { ControlApiController } from './control-api.controller';
import type { CreateProjectInput, ForcedFault, LoggedRequest } from './fake-iterable.types';
import { FakeIterableState } from './fake-iterable.state';
import { forcedFaultMatches, retryAfterHeader } from './faults.util';
import type { FakeResponse } from './iterable-api.controller';
import { IterableApiController, matchApiRoute, splitDataCenter } from './iterable-api.controller';
import { cutChunks } from './list-reads';
import { actionNotFoundPage, apiResponse, badApiKey, defaultBodyForStatus, rateLimitExceeded } from './responses.util';

/** Iterable's documented body limit (users/bulkUpdate; treated as the limit for all operations). */
export const MAX_API_BODY_BYTES = 4 * 1024 * 1024;
const MAX_CONTROL_BODY_BYTES = 64 * 1024 * 1024;
const MAX_LOGGED_TEXT = 64 * 1024;

export interface FakeIterableOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Projects (and their lists) to create at start. */
  projects?: CreateProjectInput[];
}

export interface RunningFakeIterable {
  /** e.g. `http://127.0.0.1:4010`: the US API is `${url}/api/...`, the EU API `${url}/eu/api/...`. */
  url: string;
  port: number;
  /** The in-memory state, for tests that prefer calling it to the control API. */
  state: FakeIterableState;
  close(): Promise<void>;
}

interface RawBody {
  text: string;
  bytes: number;
  tooLarge: boolean;
}

function readBody(req: IncomingMessage, limit: number): Promise<RawBody> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > limit) tooLarge = true;
      // Past the limit the rest is drained, not kept, so the client can finish sending and read the 413.
      if (!tooLarge) chunks.push(chunk);
    });
    const done = (): void => resolve({ text: tooLarge ? '' : Buffer.concat(chunks).toString('utf8'), bytes, tooLarge });
    req.on('end', done);
    req.on('error', done);
  });
}

const truncate = (text: string): string => (text.length > MAX_LOGGED_TEXT ? `${text.slice(0, MAX_LOGGED_TEXT)}…[truncated]` : text);

export class FakeIterableServer {
  readonly state = new FakeIterableState();
  private readonly api = new IterableApiController(this.state);
  private readonly control = new ControlApiController(this.state);
  private readonly timers = new Map<NodeJS.Timeout, () => void>();
  readonly server: Server = createServer((req, res) => {
    this.handle(req, res).catch((error: unknown) => {
      if (!res.headersSent && !res.destroyed) {
        this.write(res, { status: 500, body: apiResponse(`fake-iterable bug: ${String(error)}`, 'GenericError', null) });
      }
    });
  });

  private delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.set(timer, resolve);
    });
  }

  async close(): Promise<void> {
    for (const [timer, resolve] of this.timers) {
      clearTimeout(timer);
      resolve();
    }
    this.timers.clear();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private write(res: ServerResponse, response: FakeResponse): void {
    if (res.destroyed || res.writableEnded) return;
    if (response.chunks) {
      void this.stream(res, response, response.chunks);
      return;
    }
    const text = response.contentType === undefined ? JSON.stringify(response.body) : String(response.body);
    res.writeHead(response.status, {
      'Content-Type': response.contentType ?? 'application/json',
      'Content-Length': Buffer.byteLength(text),
      ...response.headers,
    });
    res.end(text);
  }

  /** A body sent as it is built (getUsers of a million members), waiting for the client to read each piece. */
  private async stream(res: ServerResponse, response: FakeResponse, chunks: Iterable<string>): Promise<void> {
    res.writeHead(response.status, { 'Content-Type': response.contentType ?? 'text/plain; charset=utf-8', ...response.headers });
    for (const chunk of chunks) {
      if (res.destroyed) return;
      if (!res.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.on('drain', done);
          res.on('close', done);
        });
      }
    }
    res.end();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const url = new URL(req.url ?? '/', 'http://fake-iterable');
    const method = (req.method ?? 'GET').toUpperCase();

    if (url.pathname === '/_fake' || url.pathname.startsWith('/_fake/')) {
      const raw = await readBody(req, MAX_CONTROL_BODY_BYTES);
      let body: unknown;
      try {
        body = raw.text === '' ? undefined : JSON.parse(raw.text);
      } catch {
        this.write(res, { status: 400, body: { error: 'body is not valid JSON' } });
        return;
      }
      this.write(res, this.control.handle(method, url.pathname, url.searchParams, body));
      return;
    }

    const { dataCenter, apiPath } = splitDataCenter(url.pathname);
    const header = req.headers['api-key'];
    const apiKey = Array.isArray(header) ? header[0] : header;
    const stats = apiKey === undefined ? undefined : this.state.statsFor(apiKey);
    if (stats) {
      stats.requests++;
      stats.inFlight++;
      stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
      res.once('close', () => stats.inFlight--);
    }
    const entry: LoggedRequest = this.state.logRequest({
      time: new Date(started).toISOString(),
      timeMs: started,
      method,
      path: req.url ?? '/',
      apiPath,
      dataCenter,
      ...(apiKey === undefined ? {} : { apiKey }),
      headers: { ...req.headers },
      body: null,
      status: null,
      response: null,
      durationMs: null,
    });
    const raw = await readBody(req, MAX_API_BODY_BYTES);
    entry.body = raw.tooLarge ? `[${raw.bytes} bytes, not kept]` : raw.text;
    const respond = (response: FakeResponse, fault?: string): void => {
      if (fault) entry.fault = entry.fault ? `${entry.fault} + ${fault}` : fault;
      entry.status = response.status;
      entry.response = typeof response.body === 'string' ? truncate(response.body) : response.body;
      entry.durationMs = Date.now() - started;
      this.write(res, response);
    };
    const reset = (fault: string): void => {
      entry.fault = entry.fault ? `${entry.fault} + ${fault}` : fault;
      entry.durationMs = Date.now() - started;
      req.socket.destroy();
    };

    // 1. Routing happens before anything else (Iterable answers unknown routes with an HTML page).
    const route = matchApiRoute(method, apiPath);
    if (!route) {
      respond({ status: 404, body: actionNotFoundPage(method, req.url ?? '/'), contentType: 'text/html; charset=utf-8' });
      return;
    }
    // 2. Body size.
    if (raw.tooLarge) {
      respond({ status: 413, body: apiResponse('Request entity too large', 'BatchTooLarge', { maxBytes: MAX_API_BODY_BYTES }) });
      return;
    }
    // 3. Authentication: a known key, used against its own data center.
    const project = apiKey === undefined ? undefined : this.state.projects.get(apiKey);
    if (!project || project.dataCenter !== dataCenter) {
      respond({ status: 401, body: badApiKey(req.socket.remoteAddress ?? '', apiPath) });
      return;
    }

    // 4. Faults: forced first, then the rate limit, then the probabilistic ones.
    const faults = this.state.faults;
    const forced = (faults.forced ?? []).find((fault) => forcedFaultMatches(fault, { method, apiPath, apiKey, body: raw.text }));
    if (forced) {
      this.consume(forced);
      if (forced.delayMs) {
        entry.fault = 'slow (forced)';
        await this.delay(forced.delayMs);
      }
      if (forced.reset) return reset('forced reset');
      if (forced.status !== undefined) {
        respond(this.forcedResponse(forced, apiPath, project.projectId), `forced ${forced.status}`);
        return;
      }
    }
    const rateLimit = faults.rateLimit;
    if (rateLimit && (rateLimit.paths === undefined || rateLimit.paths.includes(apiPath))) {
      const now = Date.now();
      const recent = (this.state.acceptedTimes.get(apiKey as string) ?? []).filter((t) => t > now - 1000);
      if (recent.length >= rateLimit.requestsPerSecond) {
        this.state.acceptedTimes.set(apiKey as string, recent);
        (stats as NonNullable<typeof stats>).rateLimited++;
        const headers =
          rateLimit.retryAfterSeconds === undefined
            ? undefined
            : { 'Retry-After': retryAfterHeader(rateLimit.retryAfterSeconds, rateLimit.retryAfterFormat, now) };
        respond({ status: 429, body: rateLimitExceeded(apiPath, project.projectId), ...(headers ? { headers } : {}) }, 'rate limit');
        return;
      }
      recent.push(now);
      this.state.acceptedTimes.set(apiKey as string, recent);
    }
    // The list read endpoints' own budget, per project and endpoint (docs/iterable-api.md §8).
    if (route.route === 'getUsers' || route.route === 'listSize') {
      const waitSeconds = this.state.listReads.take(project.projectId, route.route, this.state.config.listReadsPerMinute);
      if (waitSeconds > 0) {
        (stats as NonNullable<typeof stats>).rateLimited++;
        respond({ status: 429, body: rateLimitExceeded(apiPath, project.projectId), headers: { 'Retry-After': String(waitSeconds) } }, 'list read limit');
        return;
      }
    }
    // Four draws per request whatever the configuration, so a seed replays the same sequence.
    const [slowDraw, resetDraw, draw500, draw503] = [this.state.random(), this.state.random(), this.state.random(), this.state.random()];
    if (faults.slow && slowDraw < (faults.slow.fraction ?? 1)) {
      // Applied after the delay even if the client gave up meanwhile: Iterable does the same.
      entry.fault = 'slow';
      await this.delay(faults.slow.delayMs);
    }
    if (resetDraw < (faults.resetRate ?? 0)) return reset('reset rate');
    if (draw500 < (faults.errorRates?.status500 ?? 0)) {
      respond({ status: 500, body: defaultBodyForStatus(500, apiPath, project.projectId) }, 'error rate 500');
      return;
    }
    if (draw503 < (faults.errorRates?.status503 ?? 0)) {
      respond({ status: 503, body: defaultBodyForStatus(503, apiPath, project.projectId) }, 'error rate 503');
      return;
    }

    // 5. The request itself.
    let body: unknown;
    if (method === 'POST') {
      try {
        body = JSON.parse(raw.text);
        entry.body = body;
      } catch (error) {
        respond({
          status: 400,
          body: apiResponse(`Could not parse JSON body: ${(error as Error).message}`, 'BadJsonBody', null),
        });
        return;
      }
    }
    const response = this.api.handle(route, project, url.searchParams, body);
    const cut = forced && (forced.truncateBodyAtChars !== undefined || forced.dropFinalNewline) && response.chunks;
    if (cut) {
      const how = {
        ...(forced.truncateBodyAtChars === undefined ? {} : { truncateAtChars: forced.truncateBodyAtChars }),
        ...(forced.dropFinalNewline ? { dropFinalNewline: true } : {}),
      };
      respond({ ...response, chunks: cutChunks(cut, how) }, 'forced cut answer');
      return;
    }
    respond(response);
  }

  private consume(fault: ForcedFault): void {
    fault.times = (fault.times ?? 1) - 1;
    if (fault.times <= 0) {
      const forced = this.state.faults.forced ?? [];
      forced.splice(forced.indexOf(fault), 1);
    }
  }

  private forcedResponse(fault: ForcedFault, apiPath: string, projectId: number): FakeResponse {
    const status = fault.status as number;
    const headers: Record<string, string> = { ...fault.headers };
    if (fault.retryAfterSeconds !== undefined) headers['Retry-After'] = retryAfterHeader(fault.retryAfterSeconds, fault.retryAfterFormat);
    const body = fault.body === undefined ? defaultBodyForStatus(status, apiPath, projectId) : fault.body;
    const contentType = fault.contentType ?? (typeof fault.body === 'string' ? 'text/plain; charset=utf-8' : undefined);
    return { status, body, headers, ...(contentType === undefined ? {} : { contentType }) };
  }
}

/** Starts the fake on `host:port` (default 127.0.0.1, a free port). */
export async function startFakeIterable(options: FakeIterableOptions = {}): Promise<RunningFakeIterable> {
  const fake = new FakeIterableServer();
  for (const project of options.projects ?? []) fake.state.createProject(project);
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    fake.server.once('error', reject);
    fake.server.listen(options.port ?? 0, host, () => {
      fake.server.off('error', reject);
      resolve();
    });
  });
  const { port } = fake.server.address() as AddressInfo;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return { url: `http://${urlHost}:${port}`, port, state: fake.state, close: () => fake.close() };
}
