import { readFileSync } from 'node:fs';
import { processTree } from './cpu';

/** Peak resident memory (VmHWM) of a process and every process below it, in MiB; NaN where /proc is not readable. */
export function peakMemoryMiB(pid: number | undefined): number {
  const hwm = (p: number): number => {
    try {
      const match = readFileSync(`/proc/${p}/status`, 'utf8').match(/VmHWM:\s+(\d+) kB/);
      return match ? Number(match[1]) / 1024 : 0;
    } catch {
      return 0;
    }
  };
  const total = processTree(pid).reduce((sum, p) => sum + hwm(p), 0);
  return total > 0 ? total : Number.NaN;
}
