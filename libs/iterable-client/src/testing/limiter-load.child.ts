// A worker process for the two-process limiter test: on a "start" message it calls the fake Iterable through
// IterableClient + IterableRateLimiter (shared Redis) from `loops` concurrent loops until the deadline, then reports.
import { IterableRateLimiter } from '../iterable-rate.limiter';
import { IterableClient } from '../iterable.client';

export interface LimiterLoadStart {
  tag: string;
  url: string;
  apiKey: string;
  listId: number;
  redisUrl: string;
  keyPrefix: string;
  requestsPerSecond: number;
  maxConcurrent: number;
  loops: number;
  /** Epoch ms: no request before this instant. */
  startAt: number;
  durationMs: number;
}

export interface LimiterLoadReport {
  tag: string;
  completed: number;
  errors: string[];
}

/** Sends the message, then lets the process end (the IPC channel is what keeps it alive). */
const sendAndLeave = (message: unknown): void => {
  process.send?.(message, () => process.disconnect());
};

async function run(start: LimiterLoadStart): Promise<LimiterLoadReport> {
  const limiter = new IterableRateLimiter({
    redis: start.redisUrl,
    keyPrefix: start.keyPrefix,
    requestsPerSecond: start.requestsPerSecond,
    maxConcurrent: start.maxConcurrent,
  });
  const client = new IterableClient({ apiKey: start.apiKey, dataCenter: 'US', baseUrlOverride: start.url, rateLimiter: limiter });
  const report: LimiterLoadReport = { tag: start.tag, completed: 0, errors: [] };
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, start.startAt - Date.now())));
  const deadline = start.startAt + start.durationMs;
  const loop = async (loopIndex: number): Promise<void> => {
    for (let i = 0; Date.now() < deadline; i++) {
      try {
        await client.subscribe(start.listId, [{ email: `${start.tag}-${loopIndex}-${i}@example.com` }]);
        report.completed++;
      } catch (error) {
        report.errors.push(String(error));
      }
    }
  };
  await Promise.all(Array.from({ length: start.loops }, (_, i) => loop(i)));
  client.close();
  await limiter.close();
  return report;
}

process.on('message', (message: LimiterLoadStart) => {
  run(message).then(
    (report) => sendAndLeave({ type: 'report', report }),
    (error: unknown) => sendAndLeave({ type: 'report', report: { tag: message.tag, completed: 0, errors: [String(error)] } }),
  );
});
process.send?.({ type: 'ready' });
