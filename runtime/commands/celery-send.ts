/**
 * `redis-keda celery-send`: send Celery protocol 2 tasks, as Python's `apply_async` does; a
 * Python Celery worker or ours executes them. Prints one JSON line per task on stdout:
 * `{"id", "task", "queue"}`, plus `"state"` and `"result"` with `--wait`.
 *
 * With the demo task (users.register) and no --args / --kwargs, each task carries a new fake
 * registration (name, email, address), like the original demo's producer.
 */
import type { CommandModule } from 'yargs';
import { Commands, DEFAULT_CELERY_QUEUE, DEFAULT_CELERY_SEND_INTERVAL_SECONDS, DEMO_CELERY_TASK, Env, Options } from '../contract';
import { addEnvOptions, EnvOption, MAX_DURATION_SECONDS, OptionValues, UsageError } from '../config';
import { parseTime } from '../celery/message';
import { lazyHandler } from './lazy';
import { METRICS_OPTIONS, REDIS_EPILOGUE, REDIS_OPTIONS } from './options';

const OPTIONS = {
  task: { env: Env.CELERY_TASK, type: 'string', default: DEMO_CELERY_TASK, describe: 'Task name' },
  args: { env: Env.CELERY_ARGS, type: 'string', describe: 'Positional arguments, a JSON array (demo task without args: a fake registration each time)' },
  kwargs: { env: Env.CELERY_KWARGS, type: 'string', describe: 'Keyword arguments, a JSON object' },
  queue: { env: Env.CELERY_QUEUE, type: 'string', default: DEFAULT_CELERY_QUEUE, describe: 'Queue (Redis list) to send to' },
  count: { env: Env.CELERY_SEND_COUNT, type: 'number', integer: true, min: 0, default: 1, describe: 'Tasks to send (unless --forever)' },
  [Options.FOREVER]: { env: Env.CELERY_SEND_FOREVER, type: 'boolean', default: false, describe: 'Send until SIGTERM, serving /healthz and /metrics' },
  interval: {
    env: Env.CELERY_SEND_INTERVAL,
    type: 'number',
    max: MAX_DURATION_SECONDS,
    min: 0,
    defaultDescription: `0 (${DEFAULT_CELERY_SEND_INTERVAL_SECONDS} with --forever)`,
    describe: 'Seconds between tasks',
  },
  countdown: {
    env: Env.CELERY_COUNTDOWN,
    type: 'number',
    max: MAX_DURATION_SECONDS,
    min: 0,
    describe: 'Run each task no earlier than this many seconds after sending (sets headers.eta)',
  },
  eta: { env: Env.CELERY_ETA, type: 'string', describe: 'Run no earlier than this ISO 8601 time' },
  expires: { env: Env.CELERY_EXPIRES, type: 'number', max: MAX_DURATION_SECONDS, min: 0, describe: 'Seconds after sending when a task not yet run expires (REVOKED)' },
  priority: {
    env: Env.CELERY_PRIORITY,
    type: 'number',
    integer: true,
    min: 0,
    max: 9,
    describe: 'kombu priority 0..9 (0 first): the message goes to the priority list of its step',
  },
  'time-limit': {
    env: Env.CELERY_TIME_LIMIT,
    type: 'number',
    max: MAX_DURATION_SECONDS,
    above: 0,
    describe: 'Hard time limit in seconds (headers.timelimit): past it the task fails with TimeLimitExceeded',
  },
  'soft-time-limit': {
    env: Env.CELERY_SOFT_TIME_LIMIT,
    type: 'number',
    max: MAX_DURATION_SECONDS,
    above: 0,
    describe: 'Soft time limit in seconds: past it SoftTimeLimitExceeded is raised in the task',
  },
  wait: { env: Env.CELERY_WAIT, type: 'boolean', default: false, describe: 'Wait for each result (subscribe, then GET) and print it; exit 1 if a task did not succeed' },
  'wait-timeout': { env: Env.CELERY_WAIT_TIMEOUT, type: 'number', max: MAX_DURATION_SECONDS, above: 0, default: 60, describe: 'With --wait: seconds to wait for each result' },
  ...METRICS_OPTIONS,
  ...REDIS_OPTIONS,
} satisfies Record<string, EnvOption>;

export type Args = OptionValues<typeof OPTIONS>;

export const celerySendCommand: CommandModule = {
  command: Commands.CELERY_SEND,
  describe: 'Send Celery protocol 2 tasks to a Redis broker, exactly as Python apply_async does; one JSON line per task on stdout',
  builder: (yargs) =>
    addEnvOptions(yargs, OPTIONS)
      .check((argv) => {
        const args = argv as unknown as Args;
        parseJson(args.args, 'args', 'array');
        parseJson(args.kwargs, 'kwargs', 'object');
        if (args.eta !== undefined && !(typeof parseTime(args.eta) === 'number'))
          throw new UsageError(`--eta (or env ${Env.CELERY_ETA}) must be an ISO 8601 time, got '${args.eta}'`);
        if (args.eta !== undefined && args.countdown !== undefined) throw new UsageError('give either --eta or --countdown, not both');
        return true;
      })
      .example('$0 celery-send --task tasks.add --args "[2, 3]" --wait', 'send one task and print its result')
      .example('$0 celery-send --forever --interval 1', "the demo's producer: a registration a second")
      .epilogue(REDIS_EPILOGUE),
  handler: lazyHandler(() => import('./run/celery-send')),
};

export function parseJson(text: string | undefined, name: 'args' | 'kwargs', kind: 'array' | 'object'): unknown {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--${name} must be JSON, got '${text}': ${(error as Error).message}`);
  }
  const ok = kind === 'array' ? Array.isArray(value) : typeof value === 'object' && value !== null && !Array.isArray(value);
  if (!ok) throw new UsageError(`--${name} must be a JSON ${kind}, got '${text}'`);
  return value;
}
