/** The work of `redis-keda celery-worker`, loaded when the command runs. */
import { hostname as osHostname } from 'os';
import { Env } from '../../contract';
import { UsageError } from '../../config';
import type { Logger } from '../../log';
import { BUILTIN_TASKS } from '../../celery/builtin-tasks';
import { createCeleryWorkerMetrics } from '../../celery/metrics';
import { loadTasks, TaskRegistry } from '../../celery/tasks';
import { runCeleryConsumer, UnknownTaskPolicy } from '../../celery/consumer';
import { connectRedis, disconnectRedis } from '../../redis/connection';
import { runCommand, singleServerConnection, stopSignal } from '../common';
import type { Args } from '../celery-worker';
import { serveWhileConnected } from './serve';

export function parseQueues(text: string): string[] {
  const queues = text
    .split(',')
    .map((q) => q.trim())
    .filter((q) => q !== '');
  if (queues.length === 0) throw new UsageError(`--queues (or env ${Env.CELERY_QUEUES}) names no queue: '${text}'`);
  if (new Set(queues).size !== queues.length) throw new UsageError(`--queues (or env ${Env.CELERY_QUEUES}) names a queue twice: '${text}'`);
  return queues;
}

async function celeryWorker(args: Args, log: Logger): Promise<number> {
  const queues = parseQueues(args.queues);
  const registry = new TaskRegistry(BUILTIN_TASKS);
  if (args.tasks) for (const task of await loadTasks(args.tasks)) registry.register(task);
  const hostname = args.hostname ?? `redis-keda@${process.env[Env.POD_NAME] || osHostname()}`;
  const stop = stopSignal(log);
  try {
    return await serveWhileConnected(
      {
        port: args['metrics-port'],
        connection: { ...singleServerConnection(args, 'celery-worker', log), connectionName: 'redis-keda-celery' },
        connect: connectRedis,
        log,
        signal: stop.signal,
      },
      async (redis, metricsRegistry) => {
        // The blocking wait's own connection; its errors surface in the wait.
        const blocking = redis.duplicate({ connectionName: 'redis-keda-celery-wait' });
        blocking.on('error', (error: Error) => log.debug('blocking connection error', { error: error.message }));
        // Celery's remote control (revoke) arrives by pub/sub: a connection in subscribe mode.
        const control = redis.duplicate({ connectionName: 'redis-keda-celery-control' });
        control.on('error', (error: Error) => log.debug('control connection error', { error: error.message }));
        try {
          await runCeleryConsumer({
            redis,
            blocking,
            control,
            queues,
            tasks: registry,
            concurrency: args.concurrency,
            hostname,
            visibilitySeconds: args['visibility-timeout'],
            resultExpires: args['result-expires'],
            unknownTask: args['unknown-task'] as UnknownTaskPolicy,
            graceMs: args.grace * 1000,
            signal: stop.signal,
            log: log.child({ hostname }),
            metrics: createCeleryWorkerMetrics(metricsRegistry),
          });
        } finally {
          await disconnectRedis(blocking);
          await disconnectRedis(control);
        }
      },
    );
  } finally {
    stop.dispose();
  }
}

export const run = runCommand(celeryWorker);
