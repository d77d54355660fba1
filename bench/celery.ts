/**
 * Celery benchmark (issue 4): no-op tasks with results through ONE `redis-keda celery-worker`
 * process vs a Python Celery worker (Debian's Celery at /usr/bin/python3, prefork, concurrency 2),
 * on the same redis-server in the same run.                              goal ours/Python >= 5
 *
 * Each run, for either side: FLUSHALL; Python Celery's own `send_task` puts BENCH_CELERY_TASKS
 * protocol 2 messages on the list `celery` (bench/celery/produce.py, not timed); they are RENAMEd
 * aside; the worker starts against the empty queue and reports ready; 0.5 s later the messages
 * are RENAMEd back onto `celery` (one atomic command, which wakes the blocked BRPOP), and the run
 * is timed from there until the last `celery-task-meta-<id>` is PUBLISHed (a pattern subscription:
 * no polling while the workers run). Then every result is checked (SUCCESS, null, its task_id),
 * the queue and the `unacked` bookkeeping must be empty, and the worker is stopped gracefully. A
 * run that loses, fails or repeats a task breaks the benchmark. Runs alternate Python, ours, ...
 * BENCH_CELERY_ROUNDS times; each side's figure is its median run.
 *
 * One JSON object on stdout, progress on stderr. Exit 0 when the benchmark ran (goal met or not),
 * 1 when it broke (Python Celery missing, a task lost, a worker that would not start).
 *
 * Environment (all optional): BENCH_CELERY_TASKS (5000), BENCH_CELERY_ROUNDS (5),
 * BENCH_CELERY_CONCURRENCY (100, our worker's --concurrency), BENCH_CELERY_SIDES=python (the
 * reference alone, no ratio), BENCH_CPU_PROF=<dir> (our worker
 * runs with `node --cpu-prof` writing there), BENCH_KEEP=1 (keep the temp dir with the logs).
 */
import { join } from 'path';
import { performance } from 'perf_hooks';
import type Redis from 'ioredis';
import { CELERY_PRIORITY_STEPS, CeleryKeys, CeleryMetrics, celeryPriorityList, DEFAULT_CELERY_QUEUE, Env } from '../runtime/contract';
import { cpuSecondsOf, logVolume, memoryOf, startCli } from './support/child';
import { killPythonWorkers, produceTasks, pythonCeleryVersions, PythonVersions, startPythonWorker } from './support/celery-python';
import { ResultWatch, verifyResults, watchResults } from './support/celery-results';
import { cpuSnapshot, othersCores } from './support/machine';
import { ServerWork, startCounting, workSince } from './support/redis';
import { BenchmarkBroken, progress, round, sleepMs, verify, waitUntil } from './support/report';
import { BenchSession, runBenchSession } from './support/session';

const CELERY = {
  tasks: positive('BENCH_CELERY_TASKS', 5000),
  rounds: positive('BENCH_CELERY_ROUNDS', 5),
  oursConcurrency: positive('BENCH_CELERY_CONCURRENCY', 100),
  pythonConcurrency: 2,
  goal: 5,
  /** Pause between "ready" and the hand-over, so both workers sit idle in their blocking pop. */
  settleMs: 500,
  timeoutMs: 180_000,
};
const QUEUE = DEFAULT_CELERY_QUEUE;
const STAGING = 'bench:celery-staging';
/** The task both workers know; bench/celery/tasks.py registers it for Python. */
const NOOP_TASK = 'tasks.noop';

type Side = 'ours' | 'python';
/** BENCH_CELERY_SIDES=python measures the reference alone (no ratio): for working on the harness. */
const SIDES: readonly Side[] = process.env.BENCH_CELERY_SIDES === 'python' ? ['python'] : ['python', 'ours'];

type BenchEnv = BenchSession;

/** A worker under measurement, whichever side. */
interface Worker {
  readonly pid: number;
  readonly command: string;
  waitReady(): Promise<void>;
  cpuSeconds(): number;
  memory(): { rssMb: number; peakMb: number } | undefined;
  stop(graceMs?: number): Promise<{ code: number | string; killed: boolean }>;
  /** Side-specific figures read while the worker still runs (its counters); may throw BenchmarkBroken. */
  beforeStop?(): Promise<Record<string, unknown>>;
  /** Side-specific figures read after it stopped (its log). */
  after?(): Record<string, unknown>;
}

interface Run {
  readonly seconds: number;
  readonly perSecond: number;
  readonly report: Record<string, unknown>;
}

async function main(): Promise<void> {
  const python = pythonCeleryVersions(); // fails loudly before anything starts
  await runBenchSession(
    'celery',
    async (env) => {
      progress(
        `redis-server ${env.redisVersion} on 127.0.0.1:${env.server.port}, node ${process.version}, Python ${python.python} Celery ${python.celery} ` +
          `(kombu ${python.kombu}, redis-py ${python.redis_py}), ${CELERY.tasks} tasks, ${CELERY.rounds} rounds, temp dir ${env.dir}`,
      );
      const runs: Record<Side, Run[]> = { ours: [], python: [] };
      for (let i = 1; i <= CELERY.rounds; i++) {
        for (const side of SIDES) runs[side].push(await runOnce(env, side, i));
      }
      const ours = runs.ours.length > 0 ? median(runs.ours.map((run) => run.perSecond)) : NaN;
      const reference = median(runs.python.map((run) => run.perSecond));
      const ratio = ours / reference;
      progress(`median: ours ${round(ours)} tasks/s, Python Celery ${round(reference)} tasks/s, ratio ${round(ratio, 2)} (goal ${CELERY.goal})`);
      return {
        benchmark: 'celery',
        tasks: CELERY.tasks,
        rounds: CELERY.rounds,
        ours_tasks_per_s: round(ours),
        python_tasks_per_s: round(reference),
        ratio: round(ratio, 2),
        goal: CELERY.goal,
        met: ratio >= CELERY.goal,
        ours: {
          concurrency: CELERY.oursConcurrency,
          tasks_per_s: runs.ours.length > 0 ? spread(runs.ours) : null,
          how:
            `redis-keda celery-worker --queues ${QUEUE} --concurrency ${CELERY.oursConcurrency} --metrics-port 0 as a child process ` +
            `(node --enable-source-maps on the transpiled CLI, NODE_ENV=production, env ${Env.REDIS_HOST}/${Env.REDIS_PORT} only, default log level, stderr to a file)`,
          runs: runs.ours.map((run) => run.report),
        },
        python: {
          concurrency: CELERY.pythonConcurrency,
          tasks_per_s: spread(runs.python),
          how:
            `celery -A tasks worker --pool prefork --concurrency ${CELERY.pythonConcurrency} --without-gossip --without-mingle --without-heartbeat ` +
            `--loglevel WARNING (bench/celery/tasks.py: broker and backend the same redis, Celery's defaults otherwise: prefetch multiplier 4, early ack, JSON)`,
          runs: runs.python.map((run) => run.report),
        },
        method:
          `per run: FLUSHALL; ${CELERY.tasks} protocol 2 messages from Celery's send_task('${NOOP_TASK}') (bench/celery/produce.py, not timed) RENAMEd aside; ` +
          `worker started and ready (Python: worker_ready signal; ours: its start log line), ${CELERY.settleMs} ms idle; timed from RENAME back onto '${QUEUE}' ` +
          `to the PUBLISH of the last result (PSUBSCRIBE ${CeleryKeys.taskMeta('*')}); then all results checked SUCCESS, queue and unacked empty. ` +
          `Runs alternate python, ours; figures are medians.`,
        versions: { node: process.version, redis: env.redisVersion, ...pythonVersions(python) },
      };
    },
    killPythonWorkers,
  );
}

function pythonVersions(versions: PythonVersions) {
  return { python: versions.python, celery: versions.celery, kombu: versions.kombu, redis_py: versions.redis_py };
}

// ---------------------------------------------------------------------------------------------
// one run

async function runOnce(env: BenchEnv, side: Side, roundNo: number): Promise<Run> {
  const label = `round ${roundNo}, ${side === 'ours' ? 'ours' : 'Python Celery'}`;
  await env.redis.flushall();
  const ids = await produceTasks(env.server.url, CELERY.tasks, QUEUE);
  const queued = await env.redis.llen(QUEUE);
  verify(queued === CELERY.tasks, `${label}: '${QUEUE}' holds ${queued} messages after sending ${CELERY.tasks}`);
  await env.redis.rename(QUEUE, STAGING);

  const worker = side === 'ours' ? startOurs(env, roundNo) : startPython(env, roundNo);
  let watch: ResultWatch | undefined;
  try {
    await worker.waitReady();
    await sleepMs(CELERY.settleMs);
    const idle = worker.memory();
    watch = await watchResults(env.server.port, ids);
    const peak = sampleMax(() => worker.memory()?.rssMb ?? 0);
    const cpuBaseline = await startCounting(env.redis);
    const workerCpu = worker.cpuSeconds();
    const machineAt = cpuSnapshot();
    progress(`${label}: worker pid ${worker.pid} ready; handing it ${CELERY.tasks} tasks`);

    const started = performance.now();
    await env.redis.rename(STAGING, QUEUE);
    const finished = await watch.allPublished(CELERY.timeoutMs);
    const seconds = (finished - started) / 1000;

    const cpuSeconds = worker.cpuSeconds() - workerCpu;
    const others = othersCores(machineAt, cpuSnapshot());
    const work = await workSince(env.redis, cpuBaseline, { rename: 1 });
    const sampledPeakMb = peak.stop();
    const memory = worker.memory();
    // The last acknowledgement may trail the last result by a moment.
    await waitUntil(async () => (await leftOver(env.redis)).total === 0, `${label}: the queue lists and unacked to empty after the last result`, 5000, 10);
    const counted = (await worker.beforeStop?.()) ?? {};
    const stopped = await worker.stop();
    const after = await leftOver(env.redis);
    verify(after.total === 0, `${label}: after the worker stopped: ${JSON.stringify(after)}`);
    verify(watch.repeated() === 0, `${label}: ${watch.repeated()} results were published twice (a task ran more than once)`);
    const stored = await verifyResults(env.redis, ids, label);
    const extra = { ...counted, ...worker.after?.() };
    const perSecond = CELERY.tasks / seconds;
    progress(`${label}: ${CELERY.tasks} tasks in ${round(seconds, 3)} s = ${round(perSecond)} tasks/s; worker exited ${stopped.code}${stopped.killed ? ' (killed)' : ''}`);
    return {
      seconds,
      perSecond,
      report: {
        round: roundNo,
        seconds: round(seconds, 3),
        tasks_per_s: round(perSecond),
        date_done_span_s: round(stored.dateDoneSpanSeconds, 3),
        result_ttl_s: stored.ttlSeconds,
        worker_cpu_ms_per_task: round((cpuSeconds * 1000) / CELERY.tasks, 4),
        worker_cpu_utilisation: round(cpuSeconds / seconds, 2),
        ...perTask(work, CELERY.tasks),
        other_processes_cpu_cores: round(others, 2),
        worker_idle_rss_mb: round(idle?.rssMb ?? NaN, 1),
        worker_peak_rss_mb: round(Math.max(memory?.peakMb ?? 0, sampledPeakMb), 1),
        ...extra,
        exit: { code: stopped.code, killed_after_grace: stopped.killed },
      },
    };
  } finally {
    await watch?.close();
    await worker.stop(3000);
  }
}

function startPython(env: BenchEnv, roundNo: number): Worker {
  const worker = startPythonWorker({
    redisUrl: env.server.url,
    queue: QUEUE,
    concurrency: CELERY.pythonConcurrency,
    logFile: join(env.dir, `python-worker-${roundNo}.log`),
    readyFile: join(env.dir, `python-worker-${roundNo}.ready`),
  });
  return {
    ...worker,
    beforeStop: async () => ({ processes: worker.memory().processes }),
  };
}

function startOurs(env: BenchEnv, roundNo: number): Worker {
  const profileDir = process.env.BENCH_CPU_PROF;
  const logFile = join(env.dir, `ours-worker-${roundNo}.log`);
  const args = ['celery-worker', '--queues', QUEUE, '--concurrency', String(CELERY.oursConcurrency), '--metrics-port', '0'];
  const child = startCli(args, logFile, {
    env: { [Env.REDIS_HOST]: '127.0.0.1', [Env.REDIS_PORT]: String(env.server.port) },
    nodeArgs: profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [],
  });
  let metricsPort: number | undefined;
  return {
    pid: child.pid,
    command: `redis-keda ${args.join(' ')}`,
    waitReady: async () => {
      const health = await child.waitForLog((line) => line.msg === 'health server listening');
      metricsPort = Number(health.port);
      await child.waitForLog((line) => line.msg === OURS_READY);
    },
    cpuSeconds: () => cpuSecondsOf(child.pid),
    memory: () => memoryOf(child.pid),
    stop: (graceMs) => child.stop(graceMs),
    beforeStop: async () => {
      verify(metricsPort !== undefined && metricsPort > 0, `no port in our worker's 'health server listening' line`);
      const succeeded = await successCount(metricsPort, CELERY.tasks);
      verify(succeeded === CELERY.tasks, `our worker's ${CeleryMetrics.TASKS}{state="SUCCESS"} is ${succeeded}, expected ${CELERY.tasks}`);
      return { succeeded_per_metrics: succeeded };
    },
    after: () => {
      const volume = logVolume(logFile);
      return {
        log_lines_per_task: round(volume.lines / CELERY.tasks, 2),
        log_bytes_per_task: round(volume.bytes / CELERY.tasks),
        log_messages: volume.byMessage,
        ...(profileDir ? { cpu_profile_dir: profileDir } : {}),
      };
    },
  };
}

/** The line `redis-keda celery-worker` logs once it consumes. */
const OURS_READY = 'celery worker started';

/**
 * Tasks our worker counts as SUCCESS on its /metrics ({@link CeleryMetrics.TASKS}, all task
 * labels), waiting up to 2 s for `expected`: the counter moves when the worker reads its script's
 * reply, a moment after Redis published the result.
 */
async function successCount(port: number, expected: number): Promise<number> {
  const deadline = Date.now() + 2000;
  for (;;) {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    let sum = 0;
    for (const line of text.split('\n')) if (line.startsWith(`${CeleryMetrics.TASKS}{`) && line.includes('state="SUCCESS"')) sum += Number(line.split(' ').pop());
    if (sum >= expected || Date.now() > deadline) return sum;
    await sleepMs(50);
  }
}

/** Messages still on any priority list of the queue or in kombu's unacked bookkeeping. */
async function leftOver(redis: Redis): Promise<{ total: number; [key: string]: number }> {
  const pipeline = redis.pipeline();
  for (const step of CELERY_PRIORITY_STEPS) pipeline.llen(celeryPriorityList(QUEUE, step));
  pipeline.hlen(CeleryKeys.UNACKED).zcard(CeleryKeys.UNACKED_INDEX);
  const replies = (await pipeline.exec()) ?? [];
  const counts = replies.map(([error, value]) => {
    if (error) throw error;
    return Number(value);
  });
  const lists = counts.slice(0, CELERY_PRIORITY_STEPS.length).reduce((a, b) => a + b, 0);
  const [unacked, unackedIndex] = counts.slice(CELERY_PRIORITY_STEPS.length);
  return { total: lists + unacked + unackedIndex, queued: lists, unacked, unacked_index: unackedIndex };
}

// ---------------------------------------------------------------------------------------------
// figures

function perTask(work: ServerWork, tasks: number) {
  const calls = Object.entries(work.calls).sort(([, a], [, b]) => b - a);
  const total = calls.reduce((sum, [, count]) => sum + count, 0);
  return {
    redis_commands_per_task: round(total / tasks, 2),
    redis_calls_per_task: Object.fromEntries(calls.map(([command, count]) => [command, round(count / tasks, 3)])),
    redis_cpu_ms_per_task: round((work.cpuSeconds * 1000) / tasks, 4),
  };
}

/** Samples `read` every 50 ms; `stop` returns the largest value. */
function sampleMax(read: () => number): { stop(): number } {
  let max = read();
  const timer = setInterval(() => (max = Math.max(max, read())), 50);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(max, read());
    },
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function spread(runs: readonly Run[]) {
  const rates = runs.map((run) => run.perSecond);
  return { median: round(median(rates)), min: round(Math.min(...rates)), max: round(Math.max(...rates)) };
}

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new BenchmarkBroken(`${name} (${raw}) must be a positive integer`);
  return value;
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      progress(`BROKEN: ${error instanceof Error ? (error instanceof BenchmarkBroken ? error.message : error.stack) : String(error)}`);
      process.exit(1);
    },
  );
}
