/**
 * The Python side of the Celery benchmark: Debian's Celery at /usr/bin/python3 (the `python3` first
 * on PATH may be another interpreter without it), the app in bench/celery/, its producer, and a
 * prefork worker run in its own process group so that its pool children never outlive the run.
 */
import { ChildProcess, execFile, execFileSync, spawn } from 'child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { promisify } from 'util';
import { clockTicks, REPO_ROOT } from './child';
import { BenchmarkBroken, sleepMs } from './report';

export const PYTHON = '/usr/bin/python3';
/** The Celery app module (`tasks`) and the producer script. */
export const CELERY_APP_DIR = join(REPO_ROOT, 'bench', 'celery');

/** Environment of every Python process: nothing inherited but PATH; no .pyc files in the source tree. */
function pythonEnv(redisUrl: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, PYTHONDONTWRITEBYTECODE: '1', LANG: 'C.UTF-8', BENCH_REDIS_URL: redisUrl, ...extra };
}

export interface PythonVersions {
  readonly python: string;
  readonly celery: string;
  readonly kombu: string;
  readonly redis_py: string;
}

/** Versions of Python, Celery, kombu and redis-py; throws {@link BenchmarkBroken} saying what to install when Celery is missing. */
export function pythonCeleryVersions(): PythonVersions {
  const script = 'import sys, celery, kombu, redis; print(sys.version.split()[0], celery.__version__, kombu.__version__, redis.__version__)';
  let out: string;
  try {
    out = execFileSync(PYTHON, ['-c', script], { encoding: 'utf8', env: pythonEnv(''), stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? String(error);
    throw new BenchmarkBroken(`Python Celery is missing: '${PYTHON} -c "import celery, kombu, redis"' failed (apt-get install python3-celery python3-redis):\n${stderr.trim()}`);
  }
  const [python, celery, kombu, redisPy] = out.trim().split(' ');
  return { python, celery, kombu, redis_py: redisPy };
}

/** Sends `count` `tasks.noop` messages onto `queue` with Celery's own `send_task`; returns their task ids in order. */
export async function produceTasks(redisUrl: string, count: number, queue: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)(PYTHON, ['produce.py', String(count), queue], {
    cwd: CELERY_APP_DIR,
    env: pythonEnv(redisUrl),
    maxBuffer: 64 * 1024 * 1024,
    timeout: 120_000,
  });
  const ids = JSON.parse(stdout) as unknown;
  if (!Array.isArray(ids) || ids.length !== count || !ids.every((id) => typeof id === 'string')) {
    throw new BenchmarkBroken(`produce.py ${count} ${queue} printed ${Array.isArray(ids) ? `${ids.length} ids` : 'no id list'}`);
  }
  return ids as string[];
}

export interface PythonWorkerOptions {
  readonly redisUrl: string;
  readonly queue: string;
  readonly concurrency: number;
  /** File receiving the worker's stdout and stderr. */
  readonly logFile: string;
  /** File the app's worker_ready handler writes. */
  readonly readyFile: string;
}

export interface PythonWorker {
  /** The main process; its pool children share its process group. */
  readonly pid: number;
  /** The celery command line, for the report. */
  readonly command: string;
  /** Resolves once the worker sent `worker_ready`; throws if it ends or 30 s pass first. */
  waitReady(): Promise<void>;
  /** User + system CPU seconds of the whole process group so far (reaped children included). */
  cpuSeconds(): number;
  /** Resident memory of the group summed over its processes: now and the sum of their peaks (VmHWM), in MB. */
  memory(): { rssMb: number; peakMb: number; processes: number };
  /** Warm shutdown (SIGTERM to the main process), SIGKILL of the whole group after `graceMs` and in any case afterwards. */
  stop(graceMs?: number): Promise<{ code: number | string; killed: boolean }>;
}

const groups = new Set<number>();
/** SIGKILLs every worker process group still running (interrupted benchmark; also done on exit). */
export function killPythonWorkers(): void {
  for (const pgid of groups) killGroup(pgid, 'SIGKILL');
}
process.on('exit', killPythonWorkers);

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

export function startPythonWorker(options: PythonWorkerOptions): PythonWorker {
  const args = [
    '-m',
    'celery',
    '-A',
    'tasks',
    'worker',
    '--pool',
    'prefork',
    '--concurrency',
    String(options.concurrency),
    '--queues',
    options.queue,
    '--without-gossip',
    '--without-mingle',
    '--without-heartbeat',
    '--loglevel',
    'WARNING',
    '--hostname',
    'bench-python@%h',
  ];
  const fd = openSync(options.logFile, 'w');
  let child: ChildProcess;
  try {
    child = spawn(PYTHON, args, {
      cwd: CELERY_APP_DIR,
      env: pythonEnv(options.redisUrl, { BENCH_CELERY_READY_FILE: options.readyFile }),
      stdio: ['ignore', fd, fd],
      detached: true, // its own process group: the prefork children are killed with it
    });
  } finally {
    closeSync(fd);
  }
  if (child.pid === undefined) throw new BenchmarkBroken(`could not start ${PYTHON} ${args.join(' ')}`);
  const pid = child.pid;
  groups.add(pid);
  let exitedWith: number | string | undefined;
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => {
      exitedWith = code ?? signal ?? 'unknown';
      resolve(exitedWith);
    }),
  );
  const tail = () => readFileSync(options.logFile, 'utf8').split('\n').slice(-30).join('\n');

  const waitReady = async () => {
    const deadline = Date.now() + 30_000;
    while (!existsSync(options.readyFile)) {
      if (exitedWith !== undefined) throw new BenchmarkBroken(`the Python Celery worker ended (${exitedWith}) before it was ready; its log:\n${tail()}`);
      if (Date.now() > deadline) throw new BenchmarkBroken(`the Python Celery worker was not ready within 30 s; its log:\n${tail()}`);
      await sleepMs(20);
    }
  };

  const stop = async (graceMs = 10_000) => {
    let killed = false;
    if (exitedWith === undefined) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        killed = true;
        killGroup(pid, 'SIGKILL');
      }, graceMs);
      await exited;
      clearTimeout(timer);
    }
    // Pool children left behind by a main process that died some other way.
    killGroup(pid, 'SIGKILL');
    groups.delete(pid);
    return { code: exitedWith ?? 'unknown', killed };
  };

  return {
    pid,
    command: `${PYTHON} ${args.join(' ')}`,
    waitReady,
    cpuSeconds: () => groupCpuSeconds(pid),
    memory: () => groupMemory(pid),
    stop,
  };
}

/** /proc/<pid>/stat fields from the state on (index 0 = state, 2 = pgrp, 11/12 = utime/stime, 13/14 = reaped children's). */
function statFields(pid: string): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

function groupMembers(pgid: number): string[] {
  return readdirSync('/proc').filter((name) => /^\d+$/.test(name) && Number(statFields(name)?.[2]) === pgid);
}

function groupCpuSeconds(pgid: number): number {
  let ticks = 0;
  for (const pid of groupMembers(pgid)) {
    const fields = statFields(pid);
    if (!fields) continue;
    ticks += Number(fields[11]) + Number(fields[12]);
    if (Number(pid) === pgid) ticks += Number(fields[13]) + Number(fields[14]);
  }
  return ticks / clockTicks();
}

function groupMemory(pgid: number): { rssMb: number; peakMb: number; processes: number } {
  let rssKb = 0;
  let peakKb = 0;
  let processes = 0;
  for (const pid of groupMembers(pgid)) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      rssKb += Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
      peakKb += Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
      processes++;
    } catch {
      // gone meanwhile
    }
  }
  return { rssMb: rssKb / 1024, peakMb: peakKb / 1024, processes };
}
