import { DriftIdentifierKind, driftKeyOfLine, driftVerdict, newestAdd, repairMemberOf } from '@audience-bridge/mapping';
import type { DesiredRow, KnownRow, RepairMember } from '@audience-bridge/persistence';
import { DEFAULT_RUN_LINES, ExternalSorter } from './external-sorter';

/** Identifiers of each kind a report keeps as a sample. */
export const DRIFT_SAMPLE_SIZE = 20;

/** What a comparison found. */
export interface DriftCounts {
  /** Distinct identifiers Iterable's read named. */
  iterableMembers: number;
  /** Distinct identifiers the newest desired state puts on the list. */
  desiredMembers: number;
  missing: number;
  extra: number;
  leftOut: number;
  refused: number;
  missingSample: string[];
  extraSample: string[];
  /** Lines of an email read that are no email (a read of a userId-keyed project compared by email). */
  notEmails: number;
}

// Records are lines: `<key>\t<tag><fields…>`, sorted as strings, so every record of one key is contiguous.
// Tags: `i` Iterable's read names it; `d` a desired add (userId, timestamp, message id); `k` a list member that
// matters (flags, userId); `q` a change pending; `s` (userId mode) a member's identity as Iterable should name it.
const escape = (text: string): string =>
  /[\\\t\n\r]/.test(text) ? text.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r')) : text;
const unescape = (text: string): string =>
  text.includes('\\') ? text.replace(/\\(.)/g, (_m, c: string) => (c === 't' ? '\t' : c === 'n' ? '\n' : c === 'r' ? '\r' : c)) : text;

/**
 * Calls `handle` with each key and its records (each without the key: the tag and its fields), in key order,
 * from a sorter's sorted batches. `handle` returns a promise only when it has to wait (a repair to write), so a
 * million matching members cost no await each.
 */
async function eachGroup(sorter: ExternalSorter, handle: (key: string, records: string[]) => Promise<void> | undefined): Promise<void> {
  let key: string | undefined;
  let records: string[] = [];
  for await (const batch of sorter.sortedBatches()) {
    for (const line of batch) {
      const tab = line.indexOf('\t');
      const lineKey = line.slice(0, tab);
      if (lineKey === key) {
        records.push(line.slice(tab + 1));
        continue;
      }
      if (key !== undefined) {
        const waiting = handle(unescape(key), records);
        if (waiting) await waiting;
      }
      key = lineKey;
      records = [line.slice(tab + 1)];
    }
  }
  if (key !== undefined) {
    const waiting = handle(unescape(key), records);
    if (waiting) await waiting;
  }
}

const fields = (record: string): string[] => record.slice(1).split('\t').map(unescape);

/**
 * Compares a list as Iterable's read names its members with the list as the database says it should be, in
 * bounded memory: every side is written as records into an external sort and the sorted records are merged,
 * one identifier at a time, through `driftVerdict`. Members in flight are left out; members Iterable refused
 * for good are counted apart. Compared by email, one sort suffices (member keys are emails). Compared by
 * userId, a first sort by email works out each member's identity (its newest add's userId, else its email)
 * and the identities in flight, and a second sort by identifier meets Iterable's read.
 */
export class DriftComparison {
  private readonly byEmail: ExternalSorter;
  private readonly byIdentifier: ExternalSorter | undefined;
  private lines = 0;
  private notEmails = 0;

  constructor(
    readonly kind: DriftIdentifierKind,
    label: string,
    runLines = DEFAULT_RUN_LINES,
  ) {
    this.byEmail = new ExternalSorter(`${label}-by-email`, runLines);
    this.byIdentifier = kind === 'userId' ? new ExternalSorter(`${label}-by-id`, runLines) : undefined;
  }

  /** Lines of Iterable's read taken so far. */
  get iterableLines(): number {
    return this.lines;
  }

  /** How many lines of an email read did not look like an email. */
  get nonEmailLines(): number {
    return this.notEmails;
  }

  /** Runs written to disk (both sorts). */
  get runs(): number {
    return this.byEmail.runCount + (this.byIdentifier?.runCount ?? 0);
  }

  async addIterableLine(line: string): Promise<void> {
    const key = driftKeyOfLine(line, this.kind);
    if (key === '') return;
    this.lines++;
    if (this.kind === 'email' && !key.includes('@')) this.notEmails++;
    await (this.byIdentifier ?? this.byEmail).add(`${escape(key)}\ti`);
  }

  async addDesired(row: DesiredRow): Promise<void> {
    await this.byEmail.add(
      this.kind === 'email'
        ? `${escape(row.email)}\td`
        : `${escape(row.email)}\td${escape(row.userId ?? '')}\t${row.timestampMs}\t${escape(row.sourceMessageId)}`,
    );
  }

  async addKnown(row: KnownRow): Promise<void> {
    await this.byEmail.add(`${escape(row.memberKey)}\tk${row.inFlight ? 1 : 0}${row.refused ? 1 : 0}\t${escape(row.userId ?? '')}`);
  }

  async addPending(memberKey: string): Promise<void> {
    await this.byEmail.add(`${escape(memberKey)}\tq`);
  }

  /**
   * Merges everything added; `onDrift` gets each missing or extra identifier (with the member to repair) as it
   * is found, in sorted order. Call once.
   */
  async run(onDrift: (verdict: 'missing' | 'extra', key: string, member: RepairMember) => Promise<void>): Promise<DriftCounts> {
    const counts: DriftCounts = {
      iterableMembers: 0,
      desiredMembers: 0,
      missing: 0,
      extra: 0,
      leftOut: 0,
      refused: 0,
      missingSample: [],
      extraSample: [],
      notEmails: this.notEmails,
    };
    const judge = (
      key: string,
      facts: { onList: boolean; desired: boolean; inFlight: boolean; refused: boolean },
      email?: string,
    ): Promise<void> | undefined => {
      if (facts.onList) counts.iterableMembers++;
      if (facts.desired) counts.desiredMembers++;
      const verdict = driftVerdict(facts);
      if (verdict === 'left out') counts.leftOut++;
      else if (verdict === 'refused') counts.refused++;
      else if (verdict === 'missing' || verdict === 'extra') {
        counts[verdict]++;
        const sample = verdict === 'missing' ? counts.missingSample : counts.extraSample;
        if (sample.length < DRIFT_SAMPLE_SIZE) sample.push(key);
        return onDrift(verdict, key, repairMemberOf(key, this.kind, email));
      }
      return undefined;
    };
    if (!this.byIdentifier) {
      await eachGroup(this.byEmail, (key, records) => {
        let onList = false;
        let desired = false;
        let pending = false;
        let known: string | undefined;
        for (const r of records) {
          const tag = r[0];
          if (tag === 'i') onList = true;
          else if (tag === 'd') desired = true;
          else if (tag === 'q') pending = true;
          else if (tag === 'k') known = r;
        }
        return judge(key, { onList, desired, inFlight: pending || known?.[1] === '1', refused: known?.[2] === '1' });
      });
      return counts;
    }
    // userId mode, first pass (by email): each member's identity as Iterable should name it, and those in flight.
    const byIdentifier = this.byIdentifier;
    const emitted: Promise<void>[] = [];
    await eachGroup(this.byEmail, (email, records) => {
      const adds = records
        .filter((r) => r[0] === 'd')
        .map(fields)
        .map(([userId, ts, id]) => ({ userId: userId || null, timestampMs: Number(ts), sourceMessageId: id ?? '' }));
      const knownRecord = records.find((r) => r[0] === 'k');
      const knownUserId = knownRecord ? fields(knownRecord)[1] || null : null;
      const inFlight = records.some((r) => r[0] === 'q') || knownRecord?.[1] === '1';
      const refused = knownRecord?.[2] === '1';
      const newest = newestAdd(adds);
      const identity = newest ? (newest.userId ?? email) : undefined;
      // s<desired><inFlight><refused>\t<email>
      if (identity !== undefined) emitted.push(byIdentifier.add(`${escape(identity)}\ts1${inFlight ? 1 : 0}${refused ? 1 : 0}\t${escape(email)}`));
      if (inFlight) {
        const was = knownUserId ?? email;
        if (was !== identity) emitted.push(byIdentifier.add(`${escape(was)}\ts010\t${escape(email)}`));
      }
      return emitted.length > 0 ? Promise.all(emitted.splice(0)).then(() => undefined) : undefined;
    });
    await eachGroup(byIdentifier, (key, records) => {
      const mine = records.filter((r) => r[0] === 's');
      const desired = mine.find((r) => r[1] === '1');
      return judge(
        key,
        {
          onList: records.some((r) => r[0] === 'i'),
          desired: desired !== undefined,
          inFlight: mine.some((r) => r[2] === '1'),
          refused: mine.some((r) => r[3] === '1'),
        },
        desired ? fields(desired)[1] : undefined,
      );
    });
    return counts;
  }

  async dispose(): Promise<void> {
    await this.byEmail.dispose();
    await this.byIdentifier?.dispose();
  }
}
