import { DEFAULT_OPTIONS, GeneratorOptions, generateHistory, restrict } from './history';
import { REGRESSION_SEEDS, regressionOptions } from './regressions';
import { Driver, replayCommand, runHistory } from './run';
import { shrink } from './shrink';

/**
 * npm run model-check -- [--minutes N | --seeds N] [--seed S] [--driver sqlite|postgres|both] [--messages N]
 *   [--faults on|off] [--duplicates F] [--late F] [--malformed F] [--erasures N]
 *   [--created-lists N] [--new-audiences N] [--attributes F] [--outage-seconds N] [--storage-faults on|off]
 *   [--shared-project on|off] [--lost-moves F]
 *   [--keep i,j,…] [--shrink RUNS] [--regressions]
 * Runs generated histories (seeds from --seed on) against the built apps until the time or the count is spent,
 * with a progress line; on a failure prints the seed, its faults and one command that replays it, and (with
 * --shrink) the smallest history found that still fails. Exits 1 when any run failed.
 */
function args(): Map<string, string> {
  const out = new Map<string, string>();
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i] ?? '';
    if (!name.startsWith('--')) continue;
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) {
      out.set(name.slice(2), 'true');
    } else {
      out.set(name.slice(2), next);
      i++;
    }
  }
  return out;
}

async function main(): Promise<void> {
  const a = args();
  const drivers: Driver[] = a.get('driver') === 'sqlite' ? ['sqlite'] : a.get('driver') === 'postgres' ? ['postgres'] : ['sqlite', 'postgres'];
  const options = {
    messages: Number(a.get('messages') ?? DEFAULT_OPTIONS.messages),
    faults: a.get('faults') !== 'off',
    duplicateRate: Number(a.get('duplicates') ?? DEFAULT_OPTIONS.duplicateRate),
    lateRate: Number(a.get('late') ?? DEFAULT_OPTIONS.lateRate),
    malformedRate: Number(a.get('malformed') ?? DEFAULT_OPTIONS.malformedRate),
    erasures: Number(a.get('erasures') ?? DEFAULT_OPTIONS.erasures),
    createdLists: Number(a.get('created-lists') ?? DEFAULT_OPTIONS.createdLists),
    newAudiences: Number(a.get('new-audiences') ?? DEFAULT_OPTIONS.newAudiences),
    attributeRate: Number(a.get('attributes') ?? DEFAULT_OPTIONS.attributeRate),
    outageSeconds: Number(a.get('outage-seconds') ?? DEFAULT_OPTIONS.outageSeconds),
    storageFaults: a.has('storage-faults') ? a.get('storage-faults') === 'on' : DEFAULT_OPTIONS.storageFaults,
    sharedProject: a.has('shared-project') ? a.get('shared-project') === 'on' : DEFAULT_OPTIONS.sharedProject,
    lostMoveRate: Number(a.get('lost-moves') ?? DEFAULT_OPTIONS.lostMoveRate),
  };
  const deadline = a.has('minutes') ? Date.now() + Number(a.get('minutes')) * 60_000 : Infinity;
  const count = a.has('seeds') ? Number(a.get('seeds')) : a.has('minutes') ? Infinity : 1;
  const keep = a.get('keep')?.split(',').map(Number);
  const jobs: { seed: number; driver: Driver; options?: Partial<GeneratorOptions> }[] = a.has('regressions')
    ? REGRESSION_SEEDS.map((r) => ({ seed: r.seed, driver: r.driver, options: regressionOptions(r) }))
    : [];
  let failed = 0;
  let runs = 0;
  const started = Date.now();
  const firstSeed = Number(a.get('seed') ?? 1);
  for (let n = 0; jobs.length > 0 ? n < jobs.length : n < count && Date.now() < deadline; n++) {
    const job = jobs[n];
    for (const driver of job ? [job.driver] : drivers) {
      const seed = job?.seed ?? firstSeed + n;
      const full = generateHistory(seed, job?.options ?? options);
      const history = keep ? restrict(full, new Set(keep)) : full;
      const result = await runHistory(history, driver);
      runs++;
      const minutes = (Date.now() - started) / 60_000;
      console.log(
        `[${minutes.toFixed(1)} min] seed ${seed} ${driver}: ${result.violations.length === 0 ? 'ok' : 'FAILED'} ` +
          `(${history.events.length} events, ${result.sent} sent, ${result.acknowledged} acknowledged, ` +
          `${result.resent} sent again, ${result.erasures} erasure(s) checked, ${result.repairs} hand edit(s) repaired, ${result.fields} field(s), ` +
          `${(result.ms / 1000).toFixed(1)} s; ` +
          `${runs} runs, ${(runs / Math.max(minutes, 0.01)).toFixed(1)} seeds/min, ${failed + (result.violations.length ? 1 : 0)} failed)`,
      );
      if (result.violations.length === 0) continue;
      failed++;
      console.log(`  faults: ${JSON.stringify(history.faults)}`);
      for (const v of result.violations.slice(0, 12)) console.log(`  - ${v}`);
      const extra = `${flagsOf(job?.options ? { ...DEFAULT_OPTIONS, ...job.options } : options)}${keep ? ` --keep ${keep.join(',')}` : ''}`;
      console.log(`  replay: ${replayCommand(seed, driver, extra)}`);
      if (a.has('shrink')) {
        const kept = await shrink(full, driver, Number(a.get('shrink')), (line) => console.log(`  ${line}`));
        const flags = flagsOf(job?.options ? { ...DEFAULT_OPTIONS, ...job.options } : options);
        console.log(`  shrunk to ${kept.length} of ${full.events.length} events: ${replayCommand(seed, driver, `${flags} --keep ${kept.join(',')}`)}`);
      }
    }
  }
  console.log(`${runs} runs, ${failed} failed, ${((Date.now() - started) / 60_000).toFixed(1)} min`);
  process.exit(failed === 0 ? 0 : 1);
}

/** The flags that give these options (those other than the defaults), for a replay line. */
function flagsOf(options: GeneratorOptions): string {
  const names: Record<keyof GeneratorOptions, string> = {
    messages: 'messages',
    duplicateRate: 'duplicates',
    lateRate: 'late',
    malformedRate: 'malformed',
    faults: 'faults',
    erasures: 'erasures',
    createdLists: 'created-lists',
    newAudiences: 'new-audiences',
    attributeRate: 'attributes',
    outageSeconds: 'outage-seconds',
    storageFaults: 'storage-faults',
    sharedProject: 'shared-project',
    lostMoveRate: 'lost-moves',
  };
  return (Object.keys(names) as (keyof GeneratorOptions)[])
    .filter((k) => options[k] !== DEFAULT_OPTIONS[k])
    .map((k) => ` --${names[k]} ${typeof options[k] === 'boolean' ? (options[k] ? 'on' : 'off') : String(options[k])}`)
    .join('');
}

main().catch((error: unknown) => {
  console.error(`model-check failed: ${error instanceof Error ? error.stack : String(error)}`);
  process.exit(2);
});
