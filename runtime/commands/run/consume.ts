/** The work of `redis-keda consume`, loaded when the command runs. */
import { existsSync } from 'fs';
import { dirname } from 'path';
import { CLAIM_FILE } from '../../contract';
import type { Logger } from '../../log';
import { createConsumerMetrics } from '../../queue/metrics';
import { consumeOnce, ConsumerOptions, runConsumer } from '../../queue/consumer';
import { demoHandler, loadHandler } from '../../queue/handler';
import { closeRedis, connectClient } from '../../redis/connection';
import { queueConnection, runCommand, stopSignal } from '../common';
import type { Args } from '../consume';
import { serveWhileConnected } from './serve';

async function consume(args: Args, log: Logger): Promise<number> {
  const handler = args.handler ? await loadHandler(args.handler) : demoHandler(args['sleep-scale']);
  const stop = stopSignal(log);
  const consumer = {
    list: args.list,
    leaseSeconds: args.lease,
    handler,
    log,
    maxAttempts: args['max-attempts'],
    maxDeliveries: args['max-deliveries'],
    backoffSeconds: args.backoff,
    backoffMaxSeconds: args['backoff-max'],
    graceSeconds: args.grace,
    signal: stop.signal,
  };
  try {
    return args.once ? await consumeOneEvent(args, log, consumer) : await consumeInLoop(args, log, consumer);
  } finally {
    stop.dispose();
  }
}

type Common = Omit<ConsumerOptions, 'redis'> & { readonly signal: AbortSignal };

/** Job mode: Redis must answer within the connect timeout (exit 1 otherwise). */
async function consumeOneEvent(args: Args, log: Logger, common: Common): Promise<number> {
  const redis = await connectClient(queueConnection(args, [args.list], log), log);
  try {
    const result = await consumeOnce({ ...common, redis, readyFile: readyFile(args['ready-file'], log) });
    log.debug('consume --once done', { outcome: result.outcome });
    return 0;
  } finally {
    await closeRedis(redis);
  }
}

/** Loop mode: serves probes at once and waits for Redis as long as it takes (no crash loop while Redis is down). */
function consumeInLoop(args: Args, log: Logger, common: Common): Promise<number> {
  return serveWhileConnected(
    { port: args['metrics-port'], connection: queueConnection(args, [args.list], log), connect: connectClient, log, signal: common.signal },
    (redis, registry) => runConsumer({ ...common, redis, concurrency: args.concurrency, metrics: createConsumerMetrics(registry) }),
  );
}

/** A ready file given explicitly must work; the default is skipped outside a pod with the emptyDir. */
function readyFile(given: string | undefined, log: Logger): string | undefined {
  if (given !== undefined) return given;
  if (existsSync(dirname(CLAIM_FILE))) return CLAIM_FILE;
  log.debug('no ready file: its directory does not exist', { readyFile: CLAIM_FILE });
  return undefined;
}

export const run = runCommand(consume);
