import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Peak resident memory (VmHWM) of a process and its children, in MiB; NaN where /proc is not readable. */
export function peakMemoryMiB(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  const hwm = (p: number): number => {
    try {
      const match = readFileSync(`/proc/${p}/status`, 'utf8').match(/VmHWM:\s+(\d+) kB/);
      return match ? Number(match[1]) / 1024 : 0;
    } catch {
      return 0;
    }
  };
  let children: number[];
  try {
    children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map(Number)
      .filter((n) => n > 0);
  } catch {
    children = [];
  }
  const total = [pid, ...children].reduce((sum, p) => sum + hwm(p), 0);
  return total > 0 ? total : Number.NaN;
}
