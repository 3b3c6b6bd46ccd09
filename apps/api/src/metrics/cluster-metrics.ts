import cluster from 'node:cluster';
import { AggregatorRegistry, Registry } from 'prom-client';

// With API_PROCESSES > 1 the processes share the port and a scrape reaches one of them, which alone knows only its
// own counters. The cluster's primary does not listen on the port, so the process scraped asks it over IPC; the
// primary asks every process for its registry (prom-client's AggregatorRegistry.clusterMetrics: counters and
// histograms summed, each gauge by its `aggregator`) and answers the one that asked.

const ASK = 'audience-bridge:metrics-ask';
const ANSWER = 'audience-bridge:metrics-answer';

interface Ask {
  type: typeof ASK;
  id: number;
}
interface Answer {
  type: typeof ANSWER;
  id: number;
  text?: string;
  error?: string;
}

const isAsk = (m: unknown): m is Ask => typeof m === 'object' && m !== null && (m as Ask).type === ASK && typeof (m as Ask).id === 'number';
const isAnswer = (m: unknown): m is Answer => typeof m === 'object' && m !== null && (m as Answer).type === ANSWER && typeof (m as Answer).id === 'number';

/** In the cluster's primary: answers each API process that asks with the metrics of every process. */
export function answerMetricsAsks(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, message: unknown) => {
    if (!isAsk(message)) return;
    const reply = (answer: Omit<Answer, 'type' | 'id'>) => {
      if (worker.isConnected()) worker.send({ type: ANSWER, id: message.id, ...answer }, () => undefined);
    };
    aggregator.clusterMetrics().then(
      (text) => reply({ text }),
      (error: unknown) => reply({ error: error instanceof Error ? error.message : String(error) }),
    );
  });
}

/**
 * In an API process the primary forked: from now on it answers the primary's requests for its metrics (with
 * `registry` once set by {@link shareRegistry}; nothing before, so a process still booting adds nothing and
 * delays no scrape).
 */
export function offerMetricsToPrimary(): void {
  AggregatorRegistry.setRegistries([]);
  new AggregatorRegistry();
}

/** The registry this process contributes to the cluster's metrics. */
export function shareRegistry(registry: Registry): void {
  AggregatorRegistry.setRegistries([registry]);
}

let nextAsk = 0;
const waiting = new Map<number, (error: Error | null, text?: string) => void>();
let listening = false;

/** Asks the primary for the metrics of every API process (Prometheus text); rejects after `timeoutMs`. */
export function askPrimaryForMetrics(timeoutMs = 6000): Promise<string> {
  const send = process.send?.bind(process);
  if (!send) return Promise.reject(new Error('not a cluster process'));
  if (!listening) {
    listening = true;
    // One listener for every ask (scrapes may overlap), each answer finding its ask by id.
    process.on('message', (message: unknown) => {
      if (!isAnswer(message)) return;
      if (message.error !== undefined) waiting.get(message.id)?.(new Error(`cluster metrics: ${message.error}`));
      else waiting.get(message.id)?.(null, message.text);
    });
  }
  const id = nextAsk++;
  return new Promise<string>((resolve, reject) => {
    const done = (error: Error | null, text?: string) => {
      clearTimeout(timer);
      waiting.delete(id);
      if (error) reject(error);
      else resolve(text ?? '');
    };
    const timer = setTimeout(() => done(new Error(`cluster metrics: no answer from the primary within ${timeoutMs} ms`)), timeoutMs);
    waiting.set(id, done);
    send({ type: ASK, id } satisfies Ask, undefined, {}, (error: Error | null) => {
      if (error) done(error);
    });
  });
}
