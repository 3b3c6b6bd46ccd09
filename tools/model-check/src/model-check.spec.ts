import { DRIVERS } from '@audience-bridge/persistence';
import { DEFAULT_OPTIONS, generateHistory } from './history';
import { REGRESSION_SEEDS, regressionOptions } from './regressions';
import { replayCommand, runHistory } from './run';

// Fixed seeds against the built API and worker on both drivers: generated histories with faults (Iterable 5xx and
// throttling, a worker SIGKILLed mid-run, forwarded attributes), checked against the reference model. `npm run model-check` runs more.
const SEEDS = [101, 103, 106];
/** The fixed seeds' histories as they were chosen (lost list moves came later; regression seeds cover them). */
const FIXED_OPTIONS = { lostMoveRate: 0 };

describe.each(DRIVERS)('model check on %s', (driver) => {
  it.each(SEEDS)(
    'seed %i: every valid message acknowledged, every list as the model says, nothing pending',
    async (seed) => {
      const result = await runHistory(generateHistory(seed, FIXED_OPTIONS), driver);
      if (result.violations.length > 0) console.log(`${replayCommand(seed, driver)}\n${result.violations.join('\n')}`);
      expect(result.violations).toEqual([]);
      expect(result.acknowledged).toBeGreaterThan(20);
    },
    300_000,
  );

  // A regression seed whose history is one of the fixed seeds' (same seed, default options) runs once, above.
  const isFixedSeed = (r: (typeof REGRESSION_SEEDS)[number]) =>
    SEEDS.includes(r.seed) && JSON.stringify({ ...DEFAULT_OPTIONS, ...regressionOptions(r) }) === JSON.stringify({ ...DEFAULT_OPTIONS, ...FIXED_OPTIONS });
  const regressions = REGRESSION_SEEDS.filter((r) => r.driver === driver && !isFixedSeed(r));
  if (regressions.length > 0) {
    it.each(regressions.map((r) => [r.seed, r.defect, r] as const))(
      'regression seed %i (%s) stays fixed',
      async (seed, _defect, r) => {
        const result = await runHistory(generateHistory(seed, regressionOptions(r)), driver);
        if (result.violations.length > 0) console.log(`regression seed ${seed} on ${driver}\n${result.violations.join('\n')}`);
        expect(result.violations).toEqual([]);
      },
      300_000,
    );
  }
});
