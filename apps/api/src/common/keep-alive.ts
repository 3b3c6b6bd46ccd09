import type { Server } from 'node:http';

/**
 * Keeps an idle keep-alive connection open `seconds` (HTTP_KEEP_ALIVE_SECONDS), longer than the sender's or its load
 * balancer's idle timeout, so the sender closes idle connections and never sends on one the API is closing (Node's
 * own 5 s reset requests under load). A request's headers may take as long to arrive on such a connection.
 *
 * Kept that long, a connection would also hold a shutdown: `server.close()` closes idle connections at once, but one
 * whose request is still being answered becomes idle afterwards and would stay open `seconds`. `drain()`, called
 * when the API starts to stop, answers every later response with `Connection: close` and closes each connection as
 * soon as its answer is sent.
 */
export function keepConnectionsAlive(server: Server, seconds: number): { drain(): void } {
  server.keepAliveTimeout = seconds * 1000;
  server.headersTimeout = server.keepAliveTimeout + 1000;
  let draining = false;
  server.on('request', (_req, res) => {
    if (draining) res.shouldKeepAlive = false;
    // After Node's own handler of the answer (registered first) has marked the connection idle.
    res.once('finish', () => draining && setImmediate(() => server.closeIdleConnections()));
  });
  return {
    drain() {
      draining = true;
      server.closeIdleConnections();
      // And every connection that becomes idle later, however it got there, until the server has closed.
      const sweep = setInterval(() => server.closeIdleConnections(), 100);
      sweep.unref();
      server.once('close', () => clearInterval(sweep));
    },
  };
}
