/**
 * `redis-keda celery-worker`: a Celery-protocol worker on a Redis broker, sharing queues with
 * Python Celery workers.
 *
 * Flags (each also from env):
 *   --queues a,b          CELERY_QUEUES               queues (lists) to consume, default 'celery'
 *   --concurrency N       CELERY_CONCURRENCY          tasks run at once, default 4
 *   --tasks <module>      CELERY_TASKS                user module of defineTask(...) tasks
 *   --unknown-task fail|requeue  CELERY_UNKNOWN_TASK  default fail (FAILURE NotRegistered)
 *   --visibility-timeout S  CELERY_VISIBILITY_TIMEOUT default 3600, as the Python side's
 *   --result-expires S    CELERY_RESULT_EXPIRES       default 86400 (0: never)
 *   --hostname NAME       CELERY_HOSTNAME             default redis-keda@<POD_NAME or host>
 *   --grace S             GRACE_SECONDS               default 30
 *   --metrics-port P      METRICS_PORT                /healthz /readyz /metrics, default 9090
 *   --redis URL / --redis-host ... (REDIS_URL, REDIS_HOST, REDIS_TLS, REDIS_TLS_CA, ...)
 * Logs: JSON lines on stderr ('celery worker started', 'task failed', ...; 'task succeeded' at --log-level debug).
 * Canvas: chains, link and link_error of plain signatures are sent on; chords and nested
 * canvases fail fast (NotImplementedError). Remote control: revoke (also with terminate) and
 * ping are honoured; other inspect / control commands are not answered. Needs Redis >= 6.2.
 */
import type { CommandModule } from 'yargs';
import {
  DEFAULT_CELERY_CONCURRENCY,
  DEFAULT_CELERY_MAX_ETA_HELD,
  DEFAULT_CELERY_QUEUE,
  DEFAULT_CELERY_RESULT_EXPIRES_SECONDS,
  DEFAULT_CELERY_VISIBILITY_TIMEOUT_SECONDS,
  DEFAULT_UNKNOWN_TASK_POLICY,
  Commands,
  Env,
  READY_PATH,
  UNKNOWN_TASK_POLICIES,
} from '../contract';
import { addEnvOptions, EnvOption, MAX_DURATION_SECONDS, OptionValues } from '../config';
import { lazyHandler } from './lazy';
import { graceOption, METRICS_OPTIONS, REDIS_EPILOGUE, REDIS_OPTIONS } from './options';

const OPTIONS = {
  queues: {
    env: Env.CELERY_QUEUES,
    type: 'string',
    default: DEFAULT_CELERY_QUEUE,
    describe: 'Comma-separated Celery queues (Redis lists) to consume, served in turn; priority lists <queue>\\x06\\x16<3|6|9> included',
  },
  concurrency: {
    env: Env.CELERY_CONCURRENCY,
    type: 'number',
    integer: true,
    min: 1,
    default: DEFAULT_CELERY_CONCURRENCY,
    describe: 'Tasks run at the same time (each claim takes as many messages as there are free slots)',
  },
  tasks: {
    env: Env.CELERY_TASKS,
    type: 'string',
    describe: "Module (path relative to the working directory) exporting tasks built with defineTask(name, params, handler): an array as default, module.exports or 'tasks'",
  },
  'unknown-task': {
    env: Env.CELERY_UNKNOWN_TASK,
    type: 'string',
    choices: UNKNOWN_TASK_POLICIES,
    default: DEFAULT_UNKNOWN_TASK_POLICY,
    describe: 'A task no handler knows: fail (store FAILURE NotRegistered, so the caller does not hang) or requeue (hand it back for Python workers that know it)',
  },
  'visibility-timeout': {
    env: Env.CELERY_VISIBILITY_TIMEOUT,
    type: 'number',
    max: MAX_DURATION_SECONDS,
    above: 0,
    default: DEFAULT_CELERY_VISIBILITY_TIMEOUT_SECONDS,
    describe:
      "Seconds after which a message taken but not acknowledged (its worker died) is restored to its queue; match the Python side's broker_transport_options visibility_timeout",
  },
  'result-expires': {
    env: Env.CELERY_RESULT_EXPIRES,
    type: 'number',
    max: MAX_DURATION_SECONDS,
    integer: true,
    min: 0,
    default: DEFAULT_CELERY_RESULT_EXPIRES_SECONDS,
    describe: "Seconds a stored result lives (Celery's result_expires; 0: forever)",
  },
  hostname: {
    env: Env.CELERY_HOSTNAME,
    type: 'string',
    defaultDescription: `redis-keda@<env ${Env.POD_NAME} or the host name>`,
    describe: 'The worker name in logs and in the demo task',
  },
  grace: graceOption('On SIGTERM: seconds running tasks may still finish; the rest (and eta tasks) go back to their queues'),
  ...METRICS_OPTIONS,
  ...REDIS_OPTIONS,
} satisfies Record<string, EnvOption>;

export type Args = OptionValues<typeof OPTIONS>;

export const celeryWorkerCommand: CommandModule = {
  command: Commands.CELERY_WORKER,
  describe: 'Run Celery tasks (protocol 1 and 2) from a Redis broker and store their results in the Redis result backend, like a Python Celery worker',
  builder: (yargs) =>
    addEnvOptions(yargs, OPTIONS)
      .example('$0 celery-worker --queues celery --concurrency 8', 'a worker for the default queue')
      .example('$0 celery-worker --tasks ./tasks.js --unknown-task requeue', 'with your own tasks, in a fleet shared with Python workers')
      .epilogue(
        `Built-in tasks: users.register (the demo), tasks.add, tasks.noop, tasks.sleep, tasks.fail, tasks.echo. ` +
          `Serves /healthz, ${READY_PATH} (503 while Redis is unreachable) and /metrics; waits for Redis as long as it takes. ` +
          `acks_late: a message stays in kombu's unacked hash until its result is stored; a killed worker's messages are restored after --visibility-timeout by any worker, Python or ours. ` +
          `Eta tasks are held without a slot, at most ${DEFAULT_CELERY_MAX_ETA_HELD} per worker (then claiming pauses until one is due). ` +
          `Canvas: chain steps, link callbacks and link_error errbacks of plain signatures are sent on; chords and nested canvases fail fast with NotImplementedError. ` +
          `An integer beyond 2**53 - 1 in a task's arguments fails it with OverflowError rather than running it on a rounded number. ` +
          `With --unknown-task requeue, chords and such tasks are handed back for Python workers too. ` +
          `Remote control: revoke (REVOKED, the task not run; with terminate also a running one) and ping are answered; other inspect / control commands are not. ` +
          `Needs Redis 6.2 or later. ` +
          REDIS_EPILOGUE,
      ),
  handler: lazyHandler(() => import('./run/celery-worker')),
};
