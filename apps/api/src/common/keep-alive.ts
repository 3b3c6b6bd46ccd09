import type { Server } from 'node:http';

/**
 * Keeps an idle keep-alive connection open `seconds` (HTTP_KEEP_ALIVE_SECONDS), longer than the sender's or its load
 * balancer's idle timeout, so the sender closes idle connections and never sends on one the API is closing (Node's
 * own 5 s reset requests under load). A request's headers may take as long to arrive on such a connection.
 *
 * Kept that long, a connection would also hold a shutdown: `server.close()` closes the connections idle at that
 * moment, but one whose request is still being answered becomes idle afterwards and would stay open `seconds`.
 * `drain()`, called when the API starts to stop, closes idle connections at once and then every 100 ms until the
 * server has closed, and cuts what is still open after SHUTDOWN_GRACE_MS: nothing is added to the path of a request.
 */
/** How long a stopping API lets the requests it is answering finish before it closes their connections. */
export const SHUTDOWN_GRACE_MS = 10_000;

export function keepConnectionsAlive(server: Server, seconds: number): { drain(): void } {
  server.keepAliveTimeout = seconds * 1000;
  server.headersTimeout = server.keepAliveTimeout + 1000;
  return {
    drain() {
      server.closeIdleConnections();
      const sweep = setInterval(() => server.closeIdleConnections(), 100);
      sweep.unref();
      // A connection still busy after the grace (an answer never finished, a request never completed) is cut: a
      // stop ends within SHUTDOWN_GRACE_MS whatever the senders do.
      const cut = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
      cut.unref();
      server.once('close', () => {
        clearInterval(sweep);
        clearTimeout(cut);
      });
    },
  };
}
