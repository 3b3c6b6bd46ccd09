import { open, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';

/** Lines a sorter holds in memory before it writes them out as a sorted run (about 10 MB of short lines). */
export const DEFAULT_RUN_LINES = 100_000;
/** Bytes read from a run at a time while merging. */
const READ_CHUNK_BYTES = 256 * 1024;
/** Lines handed out per batch by `sortedBatches`. */
const BATCH_LINES = 4096;

/**
 * Sorts any number of lines in bounded memory: lines are kept until `runLines` of them, sorted and written
 * to a temporary file (a run); `sorted()` merges the runs and what is still in memory, k-way, reading each
 * run a chunk at a time. Lines are compared as JavaScript strings (UTF-16 code units) and must not hold `\n`.
 * A million lines are ten runs; memory holds one run, and one chunk of each file while merging.
 */
export class ExternalSorter {
  private buffer: string[] = [];
  private readonly runs: string[] = [];
  private dir: Promise<string> | undefined;
  private count = 0;
  private spills = 0;

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
    for await (const batch of this.sortedBatches()) yield* batch;
  }

  /** Every line added, in order, a few thousand at a time (far fewer awaits than line by line). Call once. */
  async *sortedBatches(): AsyncGenerator<string[]> {
    this.buffer.sort();
    const sources: Source[] = [];
    try {
      for (const file of this.runs) sources.push(await RunReader.open(file));
      sources.push(new MemorySource(this.buffer));
      this.buffer = [];
      for (const source of sources) await source.fill();
      let batch: string[] = [];
      for (;;) {
        let min: Source | undefined;
        for (const source of sources) {
          const head = source.head();
          if (head !== undefined && (min === undefined || head < (min.head() as string))) min = source;
        }
        if (!min) break;
        batch.push(min.take());
        if (min.empty()) await min.fill();
        if (batch.length >= BATCH_LINES) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length > 0) yield batch;
    } finally {
      await Promise.all(sources.map((s) => s.close()));
    }
  }

  /** Removes the run files. */
  async dispose(): Promise<void> {
    this.buffer = [];
    if (this.dir) await rm(await this.dir, { recursive: true, force: true });
    this.dir = undefined;
    this.runs.length = 0;
  }

  private async spill(): Promise<void> {
    const lines = this.buffer;
    this.buffer = [];
    const index = this.spills++;
    lines.sort();
    this.dir ??= mkdtemp(join(tmpdir(), `audience-bridge-${this.label}-`));
    const file = join(await this.dir, `run-${index}.txt`);
    await writeFile(file, lines.join('\n') + '\n', 'utf8');
    this.runs.push(file);
  }
}

/** Sorted lines, buffered: the current line, and more on `fill` when the buffer is used up. */
interface Source {
  head(): string | undefined;
  take(): string;
  empty(): boolean;
  fill(): Promise<void>;
  close(): Promise<void>;
}

class MemorySource implements Source {
  private i = 0;
  constructor(private readonly lines: string[]) {}
  head = (): string | undefined => this.lines[this.i];
  take = (): string => this.lines[this.i++] as string;
  empty = (): boolean => this.i >= this.lines.length;
  fill = async (): Promise<void> => undefined;
  close = async (): Promise<void> => undefined;
}

/** A run file read a chunk at a time: the complete lines of each chunk, the rest carried to the next. */
class RunReader implements Source {
  private lines: string[] = [];
  private i = 0;
  private rest = '';
  private done = false;
  private readonly decoder = new StringDecoder('utf8');
  private readonly chunk = Buffer.alloc(READ_CHUNK_BYTES);

  private constructor(private readonly file: FileHandle) {}

  static async open(path: string): Promise<RunReader> {
    return new RunReader(await open(path, 'r'));
  }

  head = (): string | undefined => this.lines[this.i];
  take = (): string => this.lines[this.i++] as string;
  empty = (): boolean => this.i >= this.lines.length;

  async fill(): Promise<void> {
    this.lines = [];
    this.i = 0;
    while (this.lines.length === 0 && !this.done) {
      const { bytesRead } = await this.file.read(this.chunk, 0, READ_CHUNK_BYTES, null);
      const text = this.rest + (bytesRead > 0 ? this.decoder.write(this.chunk.subarray(0, bytesRead)) : this.decoder.end());
      if (bytesRead === 0) this.done = true;
      const parts = text.split('\n');
      this.rest = this.done ? '' : (parts.pop() as string);
      this.lines = parts.filter((line) => line !== '');
    }
  }

  async close(): Promise<void> {
    await this.file.close();
  }
}
