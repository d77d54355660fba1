/**
 * How busy the rest of the machine was during a run: CPU time of every process (/proc/stat) less
 * this process's own, its children's and its reaped children's. A ratio measured while something
 * else competed for the two cores is worth less; the report says how much competed.
 */
import { readdirSync, readFileSync } from 'fs';
import { clockTicks } from './child';

export interface CpuSnapshot {
  /** Busy CPU seconds of the whole machine since boot. */
  readonly machine: number;
  /** CPU seconds of this process and its children, living and reaped. */
  readonly ours: number;
  readonly at: number;
}

export function cpuSnapshot(): CpuSnapshot {
  const [, user, nice, system] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  // Interrupt time is nobody's in /proc (loopback networking runs there): left out, like steal.
  const machine = (user + nice + system) / clockTicks();
  let ours = ticksOf(String(process.pid), true);
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    if (pid !== String(process.pid) && parentOf(pid) === process.pid) ours += ticksOf(pid, true);
  }
  return { machine, ours: ours / clockTicks(), at: Date.now() };
}

/** Cores other processes kept busy on average between two snapshots. */
export function othersCores(from: CpuSnapshot, to: CpuSnapshot): number {
  const seconds = (to.at - from.at) / 1000;
  return Math.max(0, to.machine - from.machine - (to.ours - from.ours)) / seconds;
}

function statFields(pid: string): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined; // gone meanwhile
  }
}

function parentOf(pid: string): number | undefined {
  const fields = statFields(pid);
  return fields ? Number(fields[1]) : undefined;
}

/** utime + stime (+ cutime + cstime) in clock ticks. */
function ticksOf(pid: string, withReapedChildren: boolean): number {
  const fields = statFields(pid);
  if (!fields) return 0;
  const own = Number(fields[11]) + Number(fields[12]);
  return withReapedChildren ? own + Number(fields[13]) + Number(fields[14]) : own;
}
