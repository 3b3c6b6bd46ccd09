import { performance } from 'node:perf_hooks';
import { RunningFakeIterable, startFakeIterable } from '@audience-bridge/fake-iterable';
import { INBOUND_TOKEN, Scenario, buildScenario, startStack } from '@audience-bridge/harness';
import { fmt } from './stats';
import { startNaiveForwarder } from './naive-forwarder';

export interface ComparisonOptions {
  messages: number;
  profilesPerMessage: number;
  iterableLimit: number;
  driver: 'postgres' | 'sqlite';
}

export interface ForwarderFigures {
  name: string;
  correct: boolean;
  /** Users on the wrong side of a list at the end (missing plus extra). */
  wrong: number;
  calls: number;
  callsPer10k: number;
  /** Seconds from the first message until every list was right; undefined = never within the wait. */
  secondsUntilRight?: number;
}

/** Waits until the lists equal the expected ones, or until the fake has been quiet for `quietMs` (then they never will). */
async function untilRight(
  fake: RunningFakeIterable,
  apiKey: string,
  scenario: Scenario,
  started: number,
  quietMs = 5000,
  maxMs = 300_000,
): Promise<{ seconds?: number; wrong: number }> {
  const wrongNow = () => {
    let wrong = 0;
    for (const [listId, expected] of scenario.expected) {
      const actual = new Set((fake.state.members(listId) ?? []).map((m) => m.email));
      for (const e of expected) if (!actual.has(e)) wrong++;
      for (const a of actual) if (a && !expected.has(a)) wrong++;
    }
    return wrong;
  };
  for (;;) {
    const wrong = wrongNow();
    if (wrong === 0) return { seconds: (performance.now() - started) / 1000, wrong };
    const last = Math.max(0, ...fake.state.requests.filter((r) => r.apiKey === apiKey).map((r) => r.timeMs));
    if ((last > 0 && Date.now() - last > quietMs) || performance.now() - started > maxMs) return { wrong };
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function sendAll(url: string, messages: unknown[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 8) {
    await Promise.all(
      messages.slice(i, i + 8).map(async (m) => {
        const res = await fetch(`${url}/v1/mparticle`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Token ${INBOUND_TOKEN}` },
          body: JSON.stringify(m),
        });
        if (res.status !== 200) throw new Error(`answered ${res.status}`);
      }),
    );
  }
}

/**
 * The same mParticle traffic (shuffled, 20 % duplicated, both adds and deletes over two lists) through
 * audience-bridge and through the naive forwarder, each into its own Iterable project on the fake, limited
 * to `iterableLimit` requests/s: are the lists right at the end, how many calls, and how long until right.
 */
export async function runComparison(o: ComparisonOptions): Promise<{ changes: number; results: ForwarderFigures[] }> {
  const fake = await startFakeIterable();
  fake.state.setConfig({ maxLoggedRequests: 1_000_000 });
  fake.state.setFaults({ rateLimit: { requestsPerSecond: o.iterableLimit } });
  const results: ForwarderFigures[] = [];
  let changes = 0;
  try {
    for (const name of ['audience-bridge', 'naive forwarder'] as const) {
      const apiKey = `compare-${name === 'audience-bridge' ? 'bridge' : 'naive'}-key-000000000000`;
      const project = fake.state.createProject({ apiKey, type: 'hybrid', dataCenter: 'US' });
      const lists = [fake.state.createList(project, 'one').id, fake.state.createList(project, 'two').id];
      const scenario = buildScenario({
        seed: 2026,
        accountId: 77,
        apiKey,
        userIdField: 'customerId',
        audiences: lists.map((listId, i) => ({ audienceId: i + 1, listId })),
        users: 1000,
        messages: o.messages,
        profilesPerMessage: o.profilesPerMessage,
        duplicates: 0.2,
        withoutEmail: 0.05,
      });
      changes = scenario.changes;
      if (name === 'audience-bridge') {
        const stack = await startStack(o.driver, { LOG_LEVEL: 'warn', ITERABLE_API_BASE_URL: fake.url, ITERABLE_REQUESTS_PER_SECOND: String(o.iterableLimit) });
        await stack.startWorker({ LOG_LEVEL: 'warn' });
        try {
          const started = performance.now();
          await sendAll(stack.apiUrl, scenario.messages);
          const { seconds, wrong } = await untilRight(fake, apiKey, scenario, started);
          results.push(figures(name, fake, apiKey, changes, wrong, seconds));
        } finally {
          await stack.stop();
        }
      } else {
        const naive = await startNaiveForwarder(fake.url);
        try {
          const started = performance.now();
          await sendAll(naive.url, scenario.messages);
          const { seconds, wrong } = await untilRight(fake, apiKey, scenario, started);
          results.push(figures(name, fake, apiKey, changes, wrong, seconds));
        } finally {
          await naive.close();
        }
      }
    }
  } finally {
    await fake.close();
  }
  return { changes, results };
}

function figures(name: string, fake: RunningFakeIterable, apiKey: string, changes: number, wrong: number, seconds?: number): ForwarderFigures {
  const calls = fake.state.requests.filter((r) => r.apiKey === apiKey && /lists\/(un)?subscribe$/.test(r.apiPath)).length;
  return {
    name,
    correct: wrong === 0,
    wrong,
    calls,
    callsPer10k: (calls * 10_000) / changes,
    ...(seconds === undefined ? {} : { secondsUntilRight: seconds }),
  };
}

export function comparisonRows({ changes, results }: { changes: number; results: ForwarderFigures[] }): [string, string][] {
  return results.map((r) => [
    r.name,
    `${r.correct ? 'lists right' : `lists WRONG (${r.wrong} users)`}; ${r.calls} Iterable calls (${fmt(r.callsPer10k, 0)} per 10,000 changes); ` +
      `${r.secondsUntilRight === undefined ? 'never right' : `right after ${fmt(r.secondsUntilRight)} s`} (${changes} changes)`,
  ]);
}
