import type { GeneratorOptions } from './history';
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
  /** Generator options other than the defaults (as the CLI flags gave them). */
  options?: Partial<GeneratorOptions>;
}

/**
 * The options a regression seed replays with: its own, over the defaults of when it was found. Lost list moves
 * (`lostMoveRate`) came later and are off unless the seed says so, so every earlier seed replays its history as found.
 */
export function regressionOptions(r: RegressionSeed): Partial<GeneratorOptions> {
  return { lostMoveRate: 0, ...r.options };
}

export const REGRESSION_SEEDS: RegressionSeed[] = [
  {
    seed: 1,
    driver: 'postgres',
    foundOn: 'fba82ac',
    defect: 'a whole message refused (400) for one audience with a malformed listId',
    options: { storageFaults: false, sharedProject: false, attributeRate: 0 },
  },
  {
    seed: 2,
    driver: 'sqlite',
    foundOn: 'fba82ac',
    defect: 'an account left suspended for a revoked key by a late older message; whole-list rows pending for ever after list moves',
    options: { storageFaults: false, sharedProject: false, attributeRate: 0, malformedRate: 0 },
  },
  {
    seed: 4,
    driver: 'postgres',
    foundOn: 'fba82ac',
    defect: 'accounts left suspended for a revoked key by late older messages; their lists never reached',
    options: { storageFaults: false, sharedProject: false, attributeRate: 0, malformedRate: 0 },
  },
  {
    seed: 102,
    driver: 'postgres',
    foundOn: '8f65771',
    defect:
      'an account suspended for a refused key after a new key had replaced it (it stayed suspended with a good key); ' +
      'on 2af7f93, two lists created for one audience whose subscription (no listId) was sent twice at once',
    options: { storageFaults: false, sharedProject: false, attributeRate: 0 },
  },
  {
    seed: 105,
    driver: 'sqlite',
    foundOn: '6cb3654',
    defect: "an erased subject's email and customer id stored again by a late membership message stamped before the erasure",
    options: { storageFaults: false, sharedProject: false, attributeRate: 0 },
  },
  {
    seed: 105,
    driver: 'postgres',
    foundOn: '6cb3654',
    defect: "an erased subject's email and customer id stored again by a late membership message stamped before the erasure",
    options: { storageFaults: false, sharedProject: false, attributeRate: 0 },
  },
  {
    seed: 104,
    driver: 'sqlite',
    foundOn: 'e4d58e5',
    defect: 'two lists created for one audience connected without a listId when its subscription was sent twice at once',
    options: { storageFaults: false, sharedProject: false, attributeRate: 0 },
  },
  {
    seed: 102,
    driver: 'postgres',
    foundOn: 'fba82ac',
    defect: "a new audience's first members lost when its subscription and first membership messages arrive at once (issue 21 §2)",
    options: {
      storageFaults: false,
      sharedProject: false,
      attributeRate: 0,
      faults: false,
      lateRate: 0,
      malformedRate: 0,
      erasures: 0,
      createdLists: 0,
      newAudiences: 4,
    },
  },
  {
    seed: 204,
    driver: 'sqlite',
    foundOn: '95d06d0',
    defect: 'attribute sends of an account stopped for two minutes after the worker holding its attribute lease was SIGKILLed',
    options: { storageFaults: false, sharedProject: false, attributeRate: 0.3 },
  },
  {
    seed: 204,
    driver: 'postgres',
    foundOn: '95d06d0',
    defect: 'attribute sends of an account stopped for two minutes after the worker holding its attribute lease was SIGKILLed',
    options: { storageFaults: false, sharedProject: false, attributeRate: 0.3 },
  },
  {
    seed: 103,
    driver: 'postgres',
    foundOn: '406857e',
    defect: 'a users/bulkUpdate Iterable applied after the client gave up overwrote the newer fields sent meanwhile',
    options: { storageFaults: false, sharedProject: false, attributeRate: 0.3 },
  },
  {
    seed: 103,
    driver: 'sqlite',
    foundOn: 'fba82ac',
    defect:
      'after its disk was full for 3 s, SQLite answered every later message 500 and no list settled (a failed COMMIT left the connection in a transaction)',
    options: { sharedProject: false, lateRate: 0, malformedRate: 0, erasures: 0, createdLists: 0, newAudiences: 0, attributeRate: 0 },
  },
  {
    seed: 105,
    driver: 'sqlite',
    foundOn: 'ddd819c',
    defect:
      "with two API processes, an erased subject's older add (stored before its process saw the tombstone) moved their audience to a new list and " +
      'was delivered there; the erasure knew only the lists of its acceptance, so their subscribed row stayed in list_members',
  },
  ...(['postgres', 'sqlite'] as const).map((driver): RegressionSeed => ({
    seed: 109,
    driver,
    foundOn: '5557a1b',
    defect:
      'in a hybrid project, a user whose email changed was on a list under both emails (one audience added the old, another deleted the new); ' +
      'unsubscribing the new one by userId took the user off, while the old one was still thought subscribed',
    options: { sharedProject: true },
  })),
  {
    seed: 104,
    driver: 'sqlite',
    foundOn: 'deb1789',
    defect:
      'a list whose only call was never answered (its worker stopped) and whose audiences then moved away had no account to send with: ' +
      'its members stayed pending for ever (intermittent: about one run in five)',
    options: { sharedProject: true },
  },
  {
    seed: 117,
    driver: 'postgres',
    foundOn: 'a8020ea',
    defect: 'an erasure whose try failed on the database (restart fault) held its two-minute claim: its forget came two minutes late (1 run in 6)',
  },
  {
    seed: 304,
    driver: 'postgres',
    foundOn: '53d4306',
    defect:
      'two identical subscriptions without a listId during a database outage: one was answered 200 without a list (held for good), ' +
      'and the claim on the list name a failed try left behind made every retry wait until it went stale (fixed: 5xx, claim given back)',
  },
  {
    seed: 501,
    driver: 'sqlite',
    foundOn: '74fd7e3',
    defect:
      "two accounts on one Iterable project: an erased subject's list_members row and compact audit key stayed on a list their " +
      "audience had moved off and the other account delivered (the erasure looked only at its own account's lists)",
    options: { sharedProject: true },
  },
  {
    seed: 336,
    driver: 'postgres',
    foundOn: '1aae12a',
    defect:
      'a drift check claimed the moment the database went away: the claim was written, its answer lost, and the check stayed ' +
      'running under a holder that had given up until the stale takeover two minutes later (its repair never came)',
  },
  {
    seed: 608,
    driver: 'sqlite',
    foundOn: 'ebe165c',
    defect:
      "Redis lost the queues' keys as a worker took a drift check's job: Bull left a nameless hash in no state under the report's " +
      'job id, every later signal of that id was a no-op, and the check (and its repair) never ran',
  },
  {
    seed: 800,
    driver: 'postgres',
    foundOn: '59a5eeb',
    defect:
      'a repairing drift check met the database restart in the middle of its run and was failed for good ("unexpected error: … not ' +
      'currently accepting connections"): the stranger added by hand stayed on the list (now the check is given back and runs again)',
  },
  {
    seed: 905,
    driver: 'postgres',
    foundOn: '09e54df',
    defect:
      "a message whose only profile was an erased subject's carried its audience's newer list: the settings applied only if the " +
      'message arrived before the erasure (the profile was dropped with them), so the audience stayed on its old list one run in three',
  },
  {
    seed: 2020,
    driver: 'sqlite',
    foundOn: '4f249fe',
    defect:
      "a brief list move that reached us only through membership messages (both subscription updates lost): the move's late " +
      'message arrived after newer ones that restated the list in force, and moved the audience (restating it advanced nothing)',
    options: { lostMoveRate: 0.3 },
  },
  {
    seed: 2026,
    driver: 'postgres',
    foundOn: '4f249fe',
    defect:
      'the same as seed 2020 on the mParticle ID account: a late membership message older than the newest restatement of the ' +
      "audience's list moved it to its stale list, and every member went to that list",
    options: { lostMoveRate: 0.3 },
  },
  {
    seed: 2039,
    driver: 'sqlite',
    foundOn: 'bfeeb6d',
    defect:
      "two API processes: one moved an audience (a brief move's membership message), and the other, whose settings snapshot " +
      'was read before, took the newer message moving it back for one that restates the list in force; the audience stayed moved',
    options: { lostMoveRate: 0.3 },
  },
  {
    seed: 2039,
    driver: 'postgres',
    foundOn: 'bfeeb6d',
    defect: 'the same as seed 2039 on SQLite, on PostgreSQL (the message moving back was written as a steady one)',
    options: { lostMoveRate: 0.3 },
  },
  {
    seed: 2076,
    driver: 'sqlite',
    foundOn: '20dfc43',
    defect:
      'a hybrid project, one run in about six: a member sent by its userId after Iterable refused to re-address the user was ' +
      'taken off the list by a later unsubscribe of its old email alone (the same Iterable user), and nothing sent it again',
    options: { lostMoveRate: 0.3 },
  },
  {
    seed: 2133,
    driver: 'postgres',
    foundOn: '1873214',
    defect:
      "about one run in three: an attribute worker SIGSTOPped past its account's lease sent a user's older plan after the " +
      'worker that took the account over sent the newer one (no fence before the call, and its settlement deleted the rechecks)',
    options: { lostMoveRate: 0.3 },
  },
  {
    seed: 5018,
    driver: 'postgres',
    foundOn: '48fcb71',
    defect:
      'once in six runs: a worker SIGSTOPped after fencing a call naming a subject sent it after the erasure purged them; its ' +
      'fenced-out settlement wrote a verdict naming them and put them back to be sent again, and the subject was stored again',
    options: { lostMoveRate: 0.3 },
  },
];
