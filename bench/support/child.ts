/**
 * Child processes under measurement: `redis-keda` started the way the runtime image starts it
 * (node on the transpiled CLI, `--enable-source-maps`, NODE_ENV=production), its stderr — the JSON
 * log — written straight to a file as a container runtime ships it, so reading the log costs the
 * benchmark nothing while it runs. Memory and CPU come from /proc.
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import { closeSync, openSync, readFileSync, statSync } from 'fs';
import { resolve } from 'path';
import { transpiledCli } from '../../test/support/runtime-build';
import { BenchmarkBroken, sleepMs } from './report';

export const REPO_ROOT = resolve(__dirname, '../..');

export interface LogLine {
  readonly msg: string;
  readonly level: string;
  readonly [field: string]: unknown;
}

export interface MeasuredChild {
  readonly child: ChildProcess;
  readonly pid: number;
  /** File holding the child's stderr. */
  readonly logFile: string;
  /** Resolves with the exit code (or signal name) once the child ended. */
  readonly exited: Promise<number | string>;
  /** The first log line matching, polling the file every 10 ms; throws if the child ends or time runs out. */
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with how it ended. */
  stop(graceMs?: number): Promise<{ code: number | string; killed: boolean }>;
}

export interface StartCliOptions {
  /** Environment besides PATH (nothing else is inherited). */
  readonly env?: Record<string, string>;
  /** Extra node flags, e.g. `--cpu-prof`. */
  readonly nodeArgs?: readonly string[];
}

const running = new Set<ChildProcess>();

/** SIGKILLs every child still running (for an interrupted benchmark; also done on exit). */
export function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
}
process.on('exit', killAll);

/** Starts `redis-keda <args>` from the current runtime sources. */
export function startCli(args: readonly string[], logFile: string, options: StartCliOptions = {}): MeasuredChild {
  const fd = openSync(logFile, 'w');
  const child = spawn(process.execPath, ['--enable-source-maps', ...(options.nodeArgs ?? []), transpiledCli(), ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, NODE_ENV: 'production', ...options.env },
    stdio: ['ignore', 'ignore', fd],
  });
  closeSync(fd);
  if (child.pid === undefined) throw new BenchmarkBroken(`could not start redis-keda ${args.join(' ')}`);
  const pid = child.pid;
  running.add(child);
  let exitedWith: number | string | undefined;
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => {
      exitedWith = code ?? signal ?? 'unknown';
      running.delete(child);
      resolve(exitedWith);
    }),
  );

  const waitForLog = async (predicate: (line: LogLine) => boolean, timeoutMs = 20_000): Promise<LogLine> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = readLog(logFile).find(predicate);
      if (found) return found;
      if (exitedWith !== undefined) throw new BenchmarkBroken(`redis-keda ${args[0]} ended (${exitedWith}) early; its log:\n${tail(logFile)}`);
      if (Date.now() > deadline) throw new BenchmarkBroken(`redis-keda ${args[0]}: no awaited log line within ${timeoutMs / 1000} s; its log:\n${tail(logFile)}`);
      await sleepMs(10);
    }
  };

  const stop = async (graceMs = 10_000) => {
    if (exitedWith !== undefined) return { code: exitedWith, killed: false };
    child.kill('SIGTERM');
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, graceMs);
    const code = await exited;
    clearTimeout(timer);
    return { code, killed };
  };

  return { child, pid, logFile, exited, waitForLog, stop };
}

/** The JSON lines of a log file (other lines skipped). */
export function readLog(logFile: string): LogLine[] {
  const lines: LogLine[] = [];
  for (const text of readFileSync(logFile, 'utf8').split('\n')) {
    if (!text.startsWith('{')) continue;
    try {
      lines.push(JSON.parse(text) as LogLine);
    } catch {
      // a torn last line
    }
  }
  return lines;
}

/** Lines and bytes of a log file, and how many lines carry each message. */
export function logVolume(logFile: string): { lines: number; bytes: number; byMessage: Record<string, number> } {
  const byMessage: Record<string, number> = {};
  const lines = readLog(logFile);
  for (const line of lines) byMessage[line.msg] = (byMessage[line.msg] ?? 0) + 1;
  return { lines: lines.length, bytes: statSync(logFile).size, byMessage };
}

function tail(logFile: string): string {
  try {
    return readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Resident memory of a process now and at its peak (VmHWM), in MB; undefined once it is gone. */
export function memoryOf(pid: number): { rssMb: number; peakMb: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

let ticks: number | undefined;

/** Clock ticks per second of /proc's CPU times. */
export function clockTicks(): number {
  ticks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticks;
}

/** User + system CPU seconds a process has used so far. */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at field 3 (state).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks();
}

/** Samples a process's VmRSS every `intervalMs` until stopped; `stop` returns the largest sample and the kernel's peak. */
export function sampleMemory(pid: number, intervalMs = 100): { stop(): { sampledMaxMb: number; peakMb: number; samples: number } } {
  let sampledMaxMb = 0;
  let peakMb = 0;
  let samples = 0;
  const sample = () => {
    const memory = memoryOf(pid);
    if (!memory) return;
    samples++;
    sampledMaxMb = Math.max(sampledMaxMb, memory.rssMb);
    peakMb = Math.max(peakMb, memory.peakMb);
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop: () => {
      sample();
      clearInterval(timer);
      return { sampledMaxMb, peakMb, samples };
    },
  };
}
