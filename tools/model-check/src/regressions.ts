import type { Driver } from './run';

/**
 * Seeds that found a defect, kept so each stays found-and-fixed. `foundOn` is the commit the checker ran on when
 * it found it; every seed here passes on main. `npm run model-check -- --regressions` runs them all.
 */
export interface RegressionSeed {
  seed: number;
  driver: Driver;
  foundOn: string;
  defect: string;
}

export const REGRESSION_SEEDS: RegressionSeed[] = [
  {
    seed: 102,
    driver: 'postgres',
    foundOn: '8f65771',
    defect: 'an account suspended for a refused key after a new key had replaced it (it stayed suspended with a good key)',
  },
];
