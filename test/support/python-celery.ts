/**
 * The real Python Celery of the interop tests: Debian's python3-celery 5.2 at /usr/bin/python3
 * (the `python3` first on PATH may be another one without it), or the interpreter $CELERY_PYTHON
 * names (`.ci/run` runs the suites again with a virtualenv of ./celery/requirements-current.txt),
 * running the app in ./celery.
 *
 * A worker runs as `celery -A app worker --pool prefork` in a process group of its own, so stopping
 * it also stops its pool children; a client runs ./celery/client.py to send tasks and read results
 * the way Python code does (`.delay()`, `AsyncResult.get()`). Both are configured only by env.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import { join } from 'path';
import type Redis from 'ioredis';
import { CeleryDemoKeys, CeleryKeys, CELERY_PRIORITY_STEPS, celeryPriorityList, DEFAULT_CELERY_QUEUE } from '../../runtime/contract';
import { waitFor } from './cli';

/** The interpreter with Celery and redis-py: $CELERY_PYTHON, else Debian's python3-celery and python3-redis. */
export const PYTHON = process.env.CELERY_PYTHON || '/usr/bin/python3';
/** The Celery app module (app.py) and the client CLI (client.py). */
export const CELERY_APP_DIR = join(__dirname, 'celery');
/** The Redis list every task of app.py (and of ./celery/tasks.js) appends an {@link Execution} to when it starts. */
export const EXECUTED_KEY = 'executed';
/** tasks.sleep appends an {@link Execution} here too when it ends: a run killed mid-sleep is missing. */
export const COMPLETED_KEY = 'completed';

const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 15_000;

let pythonChecked = false;

/** Fails loudly (never skips) when /usr/bin/python3 lacks Celery or redis-py. */
export function requirePythonCelery(): void {
  if (pythonChecked) return;
  const probe = spawnSync(PYTHON, ['-c', 'import celery, redis; print(celery.__version__)'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    const remedy = process.env.CELERY_PYTHON
      ? `CELERY_PYTHON=${PYTHON} needs them installed (pip install -r test/support/celery/requirements-current.txt)`
      : "the Celery interop tests need Debian's packages: apt-get install -y python3-celery python3-redis";
    throw new Error(`${PYTHON} cannot import celery and redis (${probe.error?.message ?? probe.stderr.trim()}); ${remedy}`);
  }
  pythonChecked = true;
}

export interface PythonCeleryOptions {
  /** Broker and result backend. */
  readonly redisUrl: string;
  /** kombu's visibility_timeout (s). @default 3600 */
  readonly visibilityTimeout?: number;
  /** result_expires (s). @default 86400 */
  readonly resultExpires?: number;
  /** task_acks_late. @default false */
  readonly acksLate?: boolean;
  /** Who ran a task, in the `executed` records. @default 'python' */
  readonly tag?: string;
  /** The message protocol a client sends (Celery's task_protocol; 1 is what Celery 3 and gocelery send). @default 2 */
  readonly taskProtocol?: 1 | 2;
  /** The client's task_serializer; `pickle` makes messages no JSON-only worker may take. @default 'json' */
  readonly taskSerializer?: 'json' | 'pickle';
}

/** The env app.py reads. */
export function pythonCeleryEnv(options: PythonCeleryOptions): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    PYTHONPATH: CELERY_APP_DIR,
    PYTHONDONTWRITEBYTECODE: '1',
    PYTHONUNBUFFERED: '1',
    CELERY_TEST_REDIS_URL: options.redisUrl,
    CELERY_TEST_WORKER_TAG: options.tag ?? 'python',
    CELERY_TEST_ACKS_LATE: options.acksLate ? 'true' : 'false',
    // users.register numbers its hashes with the counter ours uses, so a mixed fleet never collides.
    CELERY_TEST_USERS_COUNTER: CeleryDemoKeys.COUNTER,
    CELERY_TEST_USER_PREFIX: CeleryDemoKeys.user(0).replace(/0$/, ''),
  };
  if (options.visibilityTimeout !== undefined) env.CELERY_VISIBILITY_TIMEOUT = String(options.visibilityTimeout);
  if (options.resultExpires !== undefined) env.CELERY_RESULT_EXPIRES = String(options.resultExpires);
  if (options.taskProtocol !== undefined) env.CELERY_TEST_TASK_PROTOCOL = String(options.taskProtocol);
  if (options.taskSerializer !== undefined) env.CELERY_TEST_TASK_SERIALIZER = options.taskSerializer;
  return env;
}

export interface PythonWorkerOptions extends PythonCeleryOptions {
  /** Prefork processes. @default 2 */
  readonly concurrency?: number;
  /** @default ['celery'] */
  readonly queues?: readonly string[];
}

export interface PythonWorker {
  readonly child: ChildProcess;
  /** The worker's node name (`<tag>-<pid>@localhost`). */
  readonly hostname: string;
  /** stdout and stderr so far. */
  output(): string;
  /** Warm shutdown (SIGTERM: running tasks finish), then SIGKILL of the group after 15 s. */
  stop(): Promise<void>;
  /** SIGKILL of the main process and its pool children. */
  kill(): Promise<void>;
}

const running = new Set<PythonWorker>();
/** Numbers node names, so no two workers of one test process ever share one. */
let started = 0;

/** Starts a prefork Celery worker and resolves once it logged "ready.". */
export async function startPythonWorker(options: PythonWorkerOptions): Promise<PythonWorker> {
  requirePythonCelery();
  const tag = options.tag ?? 'python';
  const hostname = `${tag}-${process.pid}-${started++}@localhost`;
  const args = [
    '-m',
    'celery',
    '-A',
    'app',
    'worker',
    '--pool',
    'prefork',
    '-c',
    String(options.concurrency ?? 2),
    '-Q',
    (options.queues ?? ['celery']).join(','),
    '-n',
    hostname,
    '--without-gossip',
    '--without-mingle',
    '--without-heartbeat',
    '-l',
    'info',
  ];
  // detached: a process group of its own, so the pool children are stopped with it.
  const child = spawn(PYTHON, args, { cwd: CELERY_APP_DIR, env: pythonCeleryEnv(options), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  const collect = (chunk: Buffer) => (output += chunk.toString());
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const ended = () => child.exitCode !== null || child.signalCode !== null;
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
      // the group is gone already
    }
  };

  const worker: PythonWorker = {
    child,
    hostname,
    output: () => output,
    stop: async () => {
      if (!ended()) {
        signalGroup('SIGTERM');
        const timer = setTimeout(() => signalGroup('SIGKILL'), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }
      signalGroup('SIGKILL'); // any pool child left behind
      running.delete(worker);
    },
    kill: async () => {
      signalGroup('SIGKILL');
      await exited;
      running.delete(worker);
    },
  };
  running.add(worker);

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!/ ready\.\s*$/m.test(output)) {
    if (ended() || Date.now() > deadline) {
      await worker.stop();
      throw new Error(`Python Celery worker ${hostname} did not get ready (${ended() ? `exited ${child.exitCode ?? child.signalCode}` : 'timed out'}):\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return worker;
}

/** Stops every Python worker still running (for afterAll). */
export async function stopPythonWorkers(): Promise<void> {
  await Promise.all([...running].map((worker) => worker.stop()));
}

export interface ClientResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout's JSON lines. */
  readonly lines: unknown[];
}

/** Runs `client.py <args>` to its end (killed and failed after `timeoutMs`). */
export function runPythonClient(options: PythonCeleryOptions, args: readonly string[], io: { stdin?: string; timeoutMs?: number } = {}): Promise<ClientResult> {
  requirePythonCelery();
  const child = spawn(PYTHON, [join(CELERY_APP_DIR, 'client.py'), ...args], { cwd: CELERY_APP_DIR, env: pythonCeleryEnv(options), stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(io.stdin ?? '');
  const timeoutMs = io.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`client.py ${args.join(' ')} did not finish within ${timeoutMs} ms; stderr:\n${stderr}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      const lines = stdout
        .split('\n')
        .filter((line) => line.trim())
        .map((line) => JSON.parse(line) as unknown);
      resolve({ code, stdout, stderr, lines });
    });
  });
}

/** A task as client.py sent it; `eta` and `expires` are the message's headers (ISO 8601) or null. */
export interface SentTask {
  readonly id: string;
  readonly task: string;
  readonly eta: string | null;
  readonly expires: string | null;
}

/** What `AsyncResult.get()` gave: a value, or the exception it raised. */
export interface TaskOutcome {
  readonly id: string;
  readonly status: string;
  readonly result?: unknown;
  readonly exc_type?: string;
  readonly exc_module?: string;
  readonly exc_message?: string;
  readonly exc_args?: unknown[];
}

export interface SendOptions {
  readonly args?: readonly unknown[];
  readonly kwargs?: Record<string, unknown>;
  readonly countdown?: number;
  readonly expires?: number;
  readonly queue?: string;
  /** kombu priority 0..9 (0 first): the message goes to the priority list of its step. */
  readonly priority?: number;
  /** apply_async(ignore_result=True): the worker stores no result. */
  readonly ignoreResult?: boolean;
  /** The task id (with count 1). */
  readonly taskId?: string;
  readonly count?: number;
  /** `send_task` skips Python's argument check and needs no local task (an unknown name). @default 'delay' */
  readonly via?: 'delay' | 'apply_async' | 'send_task';
  /** Seconds `get()` waits for each result (with `wait`). */
  readonly timeout?: number;
}

function sendArgs(task: string, options: SendOptions): string[] {
  const args = ['send', '--task', task, '--args', JSON.stringify(options.args ?? []), '--kwargs', JSON.stringify(options.kwargs ?? {})];
  if (options.countdown !== undefined) args.push('--countdown', String(options.countdown));
  if (options.expires !== undefined) args.push('--expires', String(options.expires));
  if (options.queue !== undefined) args.push('--queue', options.queue);
  if (options.priority !== undefined) args.push('--priority', String(options.priority));
  if (options.ignoreResult) args.push('--ignore-result');
  if (options.taskId !== undefined) args.push('--task-id', options.taskId);
  if (options.count !== undefined) args.push('--count', String(options.count));
  if (options.via !== undefined) args.push('--via', options.via);
  if (options.timeout !== undefined) args.push('--timeout', String(options.timeout));
  return args;
}

function checked(result: ClientResult, what: string): ClientResult {
  if (result.code !== 0) throw new Error(`client.py ${what} exited ${result.code}:\n${result.stderr}`);
  return result;
}

/** Sends tasks from Python and returns them as sent. */
export async function pythonSend(celery: PythonCeleryOptions, task: string, options: SendOptions = {}): Promise<SentTask[]> {
  const result = checked(await runPythonClient(celery, sendArgs(task, options)), `send ${task}`);
  return result.lines as SentTask[];
}

/** Sends tasks from Python and waits for each result in the same process (`get()` subscribed before the result lands). */
export async function pythonCall(celery: PythonCeleryOptions, task: string, options: SendOptions = {}): Promise<{ sent: SentTask[]; outcomes: TaskOutcome[] }> {
  const result = checked(await runPythonClient(celery, [...sendArgs(task, options), '--wait']), `send ${task} --wait`);
  const count = options.count ?? 1;
  return { sent: result.lines.slice(0, count) as SentTask[], outcomes: result.lines.slice(count) as TaskOutcome[] };
}

/** `AsyncResult(id).get(timeout)` for each id, from Python. */
export async function pythonGet(celery: PythonCeleryOptions, ids: readonly string[], timeoutSeconds = 20): Promise<TaskOutcome[]> {
  const result = checked(await runPythonClient(celery, ['get', '--timeout', String(timeoutSeconds)], { stdin: ids.join('\n') + '\n' }), 'get');
  return result.lines as TaskOutcome[];
}

/** One task run, as app.py (or a task module of ours) records it in {@link EXECUTED_KEY}. */
export interface Execution {
  readonly id: string;
  readonly task: string;
  readonly worker: string;
  /** Seconds since the epoch when the task started. */
  readonly at: number;
  readonly eta: string | null;
}

/** The runs started ({@link EXECUTED_KEY}), or with `COMPLETED_KEY` the tasks.sleep runs that ended. */
export async function executions(redis: Redis, key: string = EXECUTED_KEY): Promise<Execution[]> {
  return (await redis.lrange(key, 0, -1)).map((raw) => JSON.parse(raw) as Execution);
}

/** How many times each task id ran. */
export function executionCounts(records: readonly Execution[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const record of records) counts.set(record.id, (counts.get(record.id) ?? 0) + 1);
  return counts;
}

/** The workers that ran each task id, in order. */
export function workersById(runs: readonly Execution[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const run of runs) map.set(run.id, [...(map.get(run.id) ?? []), run.worker]);
  return map;
}

/** Where a drain stands: the sent tasks not completed (and who started them), the queue lists, the unacked hash. */
export interface CompletionState {
  readonly missing: { readonly id: string; readonly startedBy: string[] }[];
  readonly lists: Record<string, number>;
  readonly unacked: string[];
  readonly unackedIndex: string[];
}

/**
 * Waits up to `timeoutMs` until every sent task has completed (tasks.sleep records it under COMPLETED_KEY), then
 * says where the drain stands: the tasks missing, who started them, and the queue's state.
 */
export async function completionState(redis: Redis, sent: readonly { id: string }[], what: string, timeoutMs = 30_000): Promise<CompletionState> {
  await waitFor(async () => workersById(await executions(redis, COMPLETED_KEY)).size >= sent.length, what, timeoutMs, 100).catch(() => undefined);
  const completed = workersById(await executions(redis, COMPLETED_KEY));
  const started = workersById(await executions(redis));
  const missing = sent.filter((s) => !completed.has(s.id)).map((s) => ({ id: s.id, startedBy: started.get(s.id) ?? [] }));
  const lists = Object.fromEntries(await Promise.all(CELERY_PRIORITY_STEPS.map(async (step) => [step, await redis.llen(celeryPriorityList(DEFAULT_CELERY_QUEUE, step))])));
  return { missing, lists, unacked: await redis.hkeys(CeleryKeys.UNACKED), unackedIndex: await redis.zrange(CeleryKeys.UNACKED_INDEX, '0', '-1') };
}

/**
 * Waits until every sent task has completed; if that takes longer than `timeoutMs` (keep it well under the test's
 * own timeout), fails with what would explain it (see {@link completionState}).
 */
export async function allCompleted(redis: Redis, sent: readonly { id: string }[], what: string, timeoutMs = 30_000): Promise<void> {
  const state = await completionState(redis, sent, what, timeoutMs);
  if (state.missing.length > 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${JSON.stringify(state)}`);
}
