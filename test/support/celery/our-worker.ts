/**
 * Our side of the interop tests: `redis-keda celery-worker` and `redis-keda celery-send` run as a
 * pod runs them (a child process configured by flags and env, see ../cli.ts), and every worker
 * started here is stopped by {@link stopOurWorkers} in afterAll.
 */
import { join } from 'path';
import { Env } from '../../../runtime/contract';
import { LogLine, ProcessResult, runCli, RunningProcess, startCli } from '../cli';

/** The recording `--tasks` module: tasks.add / noop / sleep that append to `executed` (sleep also to `completed`), app.py's errback interop.on_error, interop.unserializable. */
export const RECORDING_TASKS = join(__dirname, 'tasks.js');

export interface OurWorkerOptions {
  readonly redisUrl: string;
  /** @default 4 */
  readonly concurrency?: number;
  /** Seconds (kombu's visibility_timeout; the Python side must use the same). */
  readonly visibilityTimeout?: number;
  readonly unknownTask?: 'fail' | 'requeue';
  /** Path of a `--tasks` module, e.g. {@link RECORDING_TASKS}. */
  readonly tasks?: string;
  /** Seconds to finish tasks in hand after SIGTERM. @default 5 */
  readonly grace?: number;
  /** Worker tag in `executed` records (read by ./tasks.js). */
  readonly tag?: string;
  readonly resultExpires?: number;
  readonly queues?: readonly string[];
  /** The connection env instead of REDIS_URL (e.g. REDIS_HOST / REDIS_PORT / REDIS_PASSWORD, as the chart renders it). */
  readonly connectionEnv?: Record<string, string>;
}

const running = new Set<RunningProcess>();

/** What our worker logs once it consumes. */
export const isReadyLine = (line: LogLine) => line.msg === 'celery worker started';

/** Starts `redis-keda celery-worker` and resolves once it says it consumes. */
export async function startOurWorker(options: OurWorkerOptions): Promise<RunningProcess> {
  const args = ['celery-worker', '--queues', (options.queues ?? ['celery']).join(','), '--concurrency', String(options.concurrency ?? 4), '--metrics-port', '0'];
  args.push('--grace', String(options.grace ?? 5));
  if (options.visibilityTimeout !== undefined) args.push('--visibility-timeout', String(options.visibilityTimeout));
  if (options.unknownTask !== undefined) args.push('--unknown-task', options.unknownTask);
  if (options.tasks !== undefined) args.push('--tasks', options.tasks);
  if (options.resultExpires !== undefined) args.push('--result-expires', String(options.resultExpires));
  const env: Record<string, string> = options.connectionEnv ?? { [Env.REDIS_URL]: options.redisUrl };
  if (options.tag !== undefined) {
    args.push('--hostname', `${options.tag}@localhost`);
    env.CELERY_TEST_WORKER_TAG = options.tag;
  }
  const worker = startCli(args, { env });
  running.add(worker);
  void worker.done.then(
    () => running.delete(worker),
    () => running.delete(worker),
  );
  await worker.waitForLog(isReadyLine, 20_000);
  return worker;
}

/** SIGTERM, then SIGKILL after `timeoutMs`; resolves with how it ended. */
export async function stopOurWorker(worker: RunningProcess, timeoutMs = 15_000): Promise<ProcessResult> {
  if (worker.child.exitCode === null && worker.child.signalCode === null) {
    worker.child.kill('SIGTERM');
    const timer = setTimeout(() => worker.child.kill('SIGKILL'), timeoutMs);
    const result = await worker.done;
    clearTimeout(timer);
    return result;
  }
  return worker.done;
}

export async function stopOurWorkers(): Promise<void> {
  await Promise.all([...running].map((worker) => stopOurWorker(worker)));
}

export interface OurSendOptions {
  readonly args?: readonly unknown[];
  readonly kwargs?: Record<string, unknown>;
  readonly count?: number;
  readonly countdown?: number;
  /** Seconds after sending when the task expires. */
  readonly expires?: number;
  readonly priority?: number;
  /** Celery's hard time limit (s) in headers.timelimit. */
  readonly timeLimit?: number;
  readonly queue?: string;
  /** The connection env instead of REDIS_URL. */
  readonly connectionEnv?: Record<string, string>;
}

/** `redis-keda celery-send`: the task ids it printed (one JSON line per task). */
export async function ourSend(redisUrl: string, task: string, options: OurSendOptions = {}): Promise<{ ids: string[]; result: ProcessResult }> {
  const args = ['celery-send', '--task', task];
  if (options.args !== undefined) args.push('--args', JSON.stringify(options.args));
  if (options.kwargs !== undefined) args.push('--kwargs', JSON.stringify(options.kwargs));
  args.push('--queue', options.queue ?? 'celery', '--count', String(options.count ?? 1));
  if (options.countdown !== undefined) args.push('--countdown', String(options.countdown));
  if (options.expires !== undefined) args.push('--expires', String(options.expires));
  if (options.priority !== undefined) args.push('--priority', String(options.priority));
  if (options.timeLimit !== undefined) args.push('--time-limit', String(options.timeLimit));
  const result = await runCli(args, { env: options.connectionEnv ?? { [Env.REDIS_URL]: redisUrl } });
  if (result.code !== 0) throw new Error(`redis-keda ${args.join(' ')} exited ${result.code}:\n${result.stderr}`);
  const ids = result.stdout
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => (JSON.parse(line) as { id: string }).id);
  return { ids, result };
}
