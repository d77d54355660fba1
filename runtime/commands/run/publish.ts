/** The work of `redis-keda publish`, loaded when the command runs. */
import { startHealthServer } from '../../http/health-server';
import type { Logger } from '../../log';
import { createRegistry } from '../../http/registry';
import { createPublisherMetrics } from '../../queue/metrics';
import { publishEvents } from '../../queue/publisher';
import { fixedRate, RateSource, watchRateFile } from '../../queue/rate-file';
import { closeRedis, connectClient } from '../../redis/connection';
import { queueConnection, runCommand, stopSignal } from '../common';
import type { Args } from '../publish';

async function publish(args: Args, log: Logger): Promise<number> {
  const redis = await connectClient(queueConnection(args, [args.list], log), log);
  const options = {
    redis,
    list: args.list,
    count: args.forever ? undefined : args.count,
    batch: args.batch,
    intervalSeconds: args.interval,
    rate: await rateSource(args, log),
    waitMin: args['wait-min'],
    waitMax: args['wait-max'],
    log,
  };
  try {
    if (!args.forever) {
      const published = await publishEvents(options);
      log.info('publish done', { published });
      return 0;
    }
    const registry = createRegistry();
    const stop = stopSignal(log);
    const server = await startHealthServer({ port: args['metrics-port'], registry, log, isHealthy: () => !stop.signal.aborted });
    try {
      const published = await publishEvents({ ...options, signal: stop.signal, metrics: createPublisherMetrics(registry, options.rate !== undefined) });
      log.info('publisher stopped', { published });
      return 0;
    } finally {
      stop.dispose();
      await server.close();
    }
  } finally {
    options.rate?.close();
    await closeRedis(redis);
  }
}

/** The rate of --rate-file (starting at --rate, else paused), of --rate, or none (batches spaced by --interval). */
async function rateSource(args: Args, log: Logger): Promise<RateSource | undefined> {
  if (args['rate-file'] !== undefined) return watchRateFile({ path: args['rate-file'], initial: args.rate, log });
  return args.rate === undefined ? undefined : fixedRate(args.rate);
}

export const run = runCommand(publish);
