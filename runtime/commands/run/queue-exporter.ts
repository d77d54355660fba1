/** The work of `redis-keda queue exporter`, loaded when it runs. */
import type Redis from 'ioredis';
import { startHealthServer } from '../../http/health-server';
import { createRegistry } from '../../http/registry';
import type { Logger } from '../../log';
import { createQueueExporter } from '../../queue/exporter';
import { closeRedis, connectRedis } from '../../redis/connection';
import { connectionOptions, runCommand, stopSignal } from '../common';
import { ExporterArgs, exporterLists } from '../queue';

/** Serves probes at once and waits for Redis as long as it takes (no crash loop while Redis is down), like a loop consumer. */
async function exportQueues(args: ExporterArgs, log: Logger): Promise<number> {
  const lists = exporterLists(args);
  const stop = stopSignal(log);
  const registry = createRegistry();
  let redis: Redis | undefined;
  const server = await startHealthServer({
    port: args['metrics-port'],
    registry,
    log,
    isHealthy: () => !stop.signal.aborted,
    isReady: () => redis?.status === 'ready',
  });
  createQueueExporter({ redis: () => redis, lists, registry, scrapeTimeoutMs: args['scrape-timeout'] * 1000, log });
  try {
    try {
      redis = await connectRedis({ ...connectionOptions(args, log), connectTimeoutMs: Infinity }, log, stop.signal);
    } catch (error) {
      if (stop.signal.aborted) return 0;
      throw error;
    }
    log.info('queue exporter running', { lists });
    await new Promise<void>((resolve) => (stop.signal.aborted ? resolve() : stop.signal.addEventListener('abort', () => resolve(), { once: true })));
    return 0;
  } finally {
    stop.dispose();
    await server.close();
    if (redis) await closeRedis(redis);
  }
}

export const run = runCommand(exportQueues);
