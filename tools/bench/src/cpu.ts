import { readdirSync, readFileSync } from 'node:fs';

/** Linux's clock ticks per second for /proc/<pid>/stat times (`getconf CLK_TCK`; 100 on every Linux build here). */
const TICKS_PER_SECOND = 100;

/** CPU ticks (user + system) a process has used so far; undefined when it is gone or /proc is not readable. */
function ticksOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces and parentheses): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** A process and every process below it (the API's supervisor and its forked processes). */
export function processTree(pid: number | undefined): number[] {
  if (pid === undefined) return [];
  const all = [pid];
  for (let i = 0; i < all.length; i++) all.push(...childrenOf(all[i]));
  return all;
}

/** Every process whose command name is `name` (PostgreSQL's server and its backends: `postgres`). */
export function processesNamed(name: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === name;
      } catch {
        return false;
      }
    });
}

export interface CpuMeter {
  /** CPU seconds each group used since the meter started (a process started meanwhile counts from its start). */
  stop(): Record<string, number>;
}

/**
 * Where the machine's CPU went over a window: per group of processes (asked for at the start and again at the end),
 * plus this process, under `ownName` (the load generator, or whatever else the bench process does). A process
 * that ended within the window is not counted.
 */
export function startCpuMeter(groups: Record<string, () => number[]>, ownName = 'load generator'): CpuMeter {
  const before = new Map<number, number>();
  for (const pids of Object.values(groups)) for (const pid of pids()) before.set(pid, ticksOf(pid) ?? 0);
  const self = process.cpuUsage();
  return {
    stop() {
      const used: Record<string, number> = {};
      for (const [group, pids] of Object.entries(groups)) {
        const ticks = [...new Set(pids())].reduce((sum, pid) => {
          const now = ticksOf(pid);
          return now === undefined ? sum : sum + now - (before.get(pid) ?? 0);
        }, 0);
        used[group] = ticks / TICKS_PER_SECOND;
      }
      const own = process.cpuUsage(self);
      used[ownName] = (own.user + own.system) / 1e6;
      return used;
    },
  };
}

/** Cores busy over `seconds`, in all and per group: "1.62: worker 0.60, postgres 0.85, …". */
export function coresBusy(cpu: Record<string, number>, seconds: number, digits: (n: number) => string): string {
  const groups = Object.entries(cpu);
  const total = groups.reduce((n, [, used]) => n + used, 0);
  return `${digits(total / seconds)}: ${groups.map(([name, used]) => `${name} ${digits(used / seconds)}`).join(', ')}`;
}
