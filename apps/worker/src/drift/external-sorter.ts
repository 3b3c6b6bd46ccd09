import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** Lines a sorter holds in memory before it writes them out as a sorted run (about 10 MB of short lines). */
export const DEFAULT_RUN_LINES = 100_000;

/**
 * Sorts any number of lines in bounded memory: lines are kept until `runLines` of them, sorted and written
 * to a temporary file (a run); `sorted()` merges the runs and what is still in memory, k-way, reading each
 * run line by line. Lines are compared as JavaScript strings (UTF-16 code units) and must not hold `\n`.
 * A million lines are ten runs; memory holds one run and one line of each file.
 */
export class ExternalSorter {
  private buffer: string[] = [];
  private readonly runs: string[] = [];
  private dir: string | undefined;
  private count = 0;

  constructor(
    private readonly label: string,
    private readonly runLines = DEFAULT_RUN_LINES,
  ) {}

  /** Lines added so far. */
  get size(): number {
    return this.count;
  }

  /** Runs written to disk so far. */
  get runCount(): number {
    return this.runs.length;
  }

  async add(line: string): Promise<void> {
    this.buffer.push(line);
    this.count++;
    if (this.buffer.length >= this.runLines) await this.spill();
  }

  /** Every line added, in order. Call once, after the last `add`. */
  async *sorted(): AsyncGenerator<string> {
    this.buffer.sort();
    const sources: AsyncIterator<string>[] = this.runs.map((file) => createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity })[Symbol.asyncIterator]());
    const memory = this.buffer;
    this.buffer = [];
    sources.push(arrayIterator(memory));
    const heads: (string | undefined)[] = [];
    for (const source of sources) heads.push(await next(source));
    try {
      for (;;) {
        let min = -1;
        for (let i = 0; i < heads.length; i++) {
          const head = heads[i];
          if (head !== undefined && (min < 0 || head < (heads[min] as string))) min = i;
        }
        if (min < 0) return;
        yield heads[min] as string;
        heads[min] = await next(sources[min] as AsyncIterator<string>);
      }
    } finally {
      await Promise.all(sources.map((s) => s.return?.()));
    }
  }

  /** Removes the run files. */
  async dispose(): Promise<void> {
    this.buffer = [];
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
    this.dir = undefined;
    this.runs.length = 0;
  }

  private async spill(): Promise<void> {
    const lines = this.buffer;
    this.buffer = [];
    lines.sort();
    this.dir ??= await mkdtemp(join(tmpdir(), `audience-bridge-${this.label}-`));
    const file = join(this.dir, `run-${this.runs.length}.txt`);
    await writeFile(file, lines.join('\n') + '\n', 'utf8');
    this.runs.push(file);
  }
}

const next = async (source: AsyncIterator<string>): Promise<string | undefined> => {
  const step = await source.next();
  return step.done ? undefined : step.value;
};

function arrayIterator(lines: string[]): AsyncIterator<string> {
  let i = 0;
  return { next: async () => (i < lines.length ? { done: false, value: lines[i++] as string } : { done: true, value: undefined }) };
}
