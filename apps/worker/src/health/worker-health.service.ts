import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Environment } from '@audience-bridge/config';
import { WorkerMetrics } from '../metrics/worker-metrics.service';

/**
 * The worker's only HTTP surface: a tiny server on WORKER_HOST:WORKER_PORT (loopback by default) for
 * liveness probes (`GET /health/live`) and Prometheus (`GET /metrics`). It closes on shutdown.
 */
@Injectable()
export class WorkerHealthService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WorkerHealthService.name);
  private server?: Server;

  constructor(
    private readonly env: Environment,
    private readonly metrics: WorkerMetrics,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0];
      if (req.method === 'GET' && path === '/health/live') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok' }));
        return;
      }
      if (req.method === 'GET' && path === '/metrics') {
        this.metrics.registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': this.metrics.registry.contentType }).end(text),
          (error: unknown) => {
            this.logger.warn(`metrics failed: ${error instanceof Error ? error.message : String(error)}`);
            res
              .writeHead(503, { 'content-type': 'application/json' })
              .end(JSON.stringify({ statusCode: 503, error: 'Service Unavailable', message: 'metrics unavailable' }));
          },
        );
        return;
      }
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ statusCode: 404, error: 'Not Found', message: `Cannot ${req.method} ${path}` }));
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.env.WORKER_PORT, this.env.WORKER_HOST, () => resolve());
    });
    const { address, port } = server.address() as AddressInfo;
    this.logger.log(`health and metrics on http://${address.includes(':') ? `[${address}]` : address}:${port} (/health/live, /metrics)`);
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
