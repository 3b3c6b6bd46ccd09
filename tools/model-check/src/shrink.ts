import { History, restrict } from './history';
import { Driver, runHistory } from './run';

/**
 * Delta debugging over the history's events: drops chunks of events while the run still fails, halving the chunk
 * when no chunk can go, within `budget` runs. Answers the events kept (indexes into `history.events`).
 */
export async function shrink(history: History, driver: Driver, budget: number, log: (line: string) => void): Promise<number[]> {
  let kept = history.events.map((_, i) => i);
  let chunk = Math.max(1, Math.floor(kept.length / 2));
  let runs = 0;
  while (chunk >= 1 && runs < budget) {
    let progressed = false;
    for (let start = 0; start < kept.length && runs < budget; start += chunk) {
      const candidate = [...kept.slice(0, start), ...kept.slice(start + chunk)];
      if (candidate.length === 0) continue;
      runs++;
      const result = await runHistory(restrict(history, new Set(candidate)), driver, { settleMs: 20_000 });
      log(`shrink ${runs}/${budget}: ${candidate.length} events: ${result.violations.length > 0 ? 'still fails' : 'passes'}`);
      if (result.violations.length > 0) {
        kept = candidate;
        progressed = true;
        start -= chunk;
      }
    }
    if (!progressed) chunk = Math.floor(chunk / 2);
  }
  return kept;
}
