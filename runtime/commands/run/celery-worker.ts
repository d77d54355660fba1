/** The work of `redis-keda celery-worker`, loaded when the command runs. */
import { hostname as osHostname } from 'os';
import type Redis from 'ioredis';
import { Env } from '../../contract';
import { UsageError } from '../../config';
import { startHealthServer } from '../../http/health-server';
import type { Logger } from '../../log';
import { createRegistry } from '../../http/registry';
import { BUILTIN_TASKS } from '../../celery/builtin-tasks';
import { createCeleryWorkerMetrics } from '../../celery/metrics';
import { loadTasks, TaskRegistry } from '../../celery/tasks';
import { runCeleryConsumer, UnknownTaskPolicy } from '../../celery/consumer';
import { closeRedis, connectRedis, disconnectRedis } from '../../redis/connection';
import { connectionOptions, runCommand, stopSignal } from '../common';
import type { Args } from '../celery-worker';

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
  const metricsRegistry = createRegistry();
  let redis: Redis | undefined;
  let blocking: Redis | undefined;
  let control: Redis | undefined;
  const server = await startHealthServer({
    port: args['metrics-port'],
    registry: metricsRegistry,
    log,
    isHealthy: () => !stop.signal.aborted,
    isReady: () => redis?.status === 'ready',
  });
  try {
    try {
      redis = await connectRedis({ ...connectionOptions(args, log), connectTimeoutMs: Infinity, connectionName: 'redis-keda-celery' }, log, stop.signal);
    } catch (error) {
      if (stop.signal.aborted) return 0;
      throw error;
    }
    // The blocking wait's own connection; its errors surface in the wait.
    blocking = redis.duplicate({ connectionName: 'redis-keda-celery-wait' });
    blocking.on('error', (error: Error) => log.debug('blocking connection error', { error: error.message }));
    // Celery's remote control (revoke) arrives by pub/sub: a connection in subscribe mode.
    control = redis.duplicate({ connectionName: 'redis-keda-celery-control' });
    control.on('error', (error: Error) => log.debug('control connection error', { error: error.message }));
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
    return 0;
  } finally {
    stop.dispose();
    await server.close();
    if (blocking) await disconnectRedis(blocking);
    if (control) await disconnectRedis(control);
    if (redis) await closeRedis(redis);
  }
}

export const run = runCommand(celeryWorker);
