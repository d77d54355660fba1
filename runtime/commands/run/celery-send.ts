/** The work of `redis-keda celery-send`, loaded when the command runs. */
import type Redis from 'ioredis';
import { DEFAULT_CELERY_SEND_INTERVAL_SECONDS, DEMO_CELERY_TASK } from '../../contract';
import { startHealthServer } from '../../http/health-server';
import { errorMessage, Logger } from '../../log';
import { createRegistry } from '../../http/registry';
import { createRejectedCounter } from '../../redis/queue-full';
import { parseTime } from '../../celery/message';
import { buildTaskMessage, fakeRegistration, sendTaskMessage, waitForResult } from '../../celery/producer';
import { closeRedis, connectRedis, disconnectRedis } from '../../redis/connection';
import { QueueFullError } from '../../redis/queue-full';
import { sleep } from '../../sleep';
import { runCommand, singleServerConnection, stopSignal } from '../common';
import { Args, parseJson } from '../celery-send';

async function celerySend(args: Args, log: Logger): Promise<number> {
  const fixedArgs = parseJson(args.args, 'args', 'array') as unknown[] | undefined;
  const kwargs = (parseJson(args.kwargs, 'kwargs', 'object') as Record<string, unknown> | undefined) ?? {};
  const fake = args.task === DEMO_CELERY_TASK && fixedArgs === undefined && args.kwargs === undefined;
  const intervalMs = (args.interval ?? (args.forever ? DEFAULT_CELERY_SEND_INTERVAL_SECONDS : 0)) * 1000;
  const etaMs = args.eta !== undefined ? (parseTime(args.eta) as number) : undefined;
  const stop = stopSignal(log);
  // A producer Deployment waits for Redis as long as it takes (no crash loop); a bounded run gives up after the connect timeout.
  const redis = await connectRedis({ ...singleServerConnection(args, 'celery-send', log), ...(args.forever ? { connectTimeoutMs: Infinity } : {}) }, log, stop.signal);
  let subscriber: Redis | undefined;
  const registry = createRegistry();
  const rejected = createRejectedCounter(registry);
  const server = args.forever ? await startHealthServer({ port: args['metrics-port'], registry, log, isHealthy: () => !stop.signal.aborted }) : undefined;
  let failed = 0;
  let sent = 0;
  try {
    if (args.wait) {
      subscriber = redis.duplicate({ connectionName: 'redis-keda-celery-results' });
      subscriber.on('error', (error: Error) => log.debug('subscriber connection error', { error: error.message }));
    }
    const total = args.forever ? Infinity : args.count;
    while (sent < total && !stop.signal.aborted) {
      const now = Date.now();
      const message = buildTaskMessage({
        task: args.task,
        args: fake ? [] : (fixedArgs ?? []),
        kwargs: fake ? fakeRegistration() : kwargs,
        queue: args.queue,
        eta: etaMs ?? (args.countdown !== undefined ? now + args.countdown * 1000 : undefined),
        expires: args.expires !== undefined ? now + args.expires * 1000 : undefined,
        priority: args.priority,
        timeLimit: { hard: args['time-limit'], soft: args['soft-time-limit'] },
      });
      try {
        await sendTaskMessage(redis, message);
      } catch (error) {
        if (error instanceof QueueFullError) rejected.inc();
        if (!args.forever) throw error;
        log.error('send failed; retrying after the interval', { error: errorMessage(error) });
        await sleep(Math.max(intervalMs, 1000), stop.signal);
        continue;
      }
      sent++;
      const line: Record<string, unknown> = { id: message.id, task: args.task, queue: args.queue };
      log.debug('task sent', { taskId: message.id, task: args.task, list: message.list });
      if (subscriber) {
        const result = await waitForResult(redis, subscriber, message.id, args['wait-timeout'] * 1000, stop.signal);
        line.state = result?.status ?? 'PENDING';
        line.result = result?.result ?? null;
        if (line.state !== 'SUCCESS') failed++;
      }
      process.stdout.write(`${JSON.stringify(line)}\n`);
      if (sent < total && intervalMs > 0) await sleep(intervalMs, stop.signal);
    }
    log.info('celery-send done', { sent, failed });
    return failed > 0 ? 1 : 0;
  } finally {
    stop.dispose();
    await server?.close();
    if (subscriber) await disconnectRedis(subscriber);
    await closeRedis(redis);
  }
}

export const run = runCommand(celerySend);
