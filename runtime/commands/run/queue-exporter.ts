/** The work of `redis-keda queue exporter`, loaded when it runs. */
import type { Logger } from '../../log';
import { createQueueExporter } from '../../queue/exporter';
import { connectClient } from '../../redis/connection';
import { sleep } from '../../sleep';
import { queueConnection, runCommand, stopSignal } from '../common';
import { ExporterArgs, exporterLists } from '../queue';
import { serveWhileConnected } from './serve';

/** Serves probes and `up` 0 at once and waits for Redis as long as it takes (no crash loop while Redis is down), like a loop consumer. */
async function exportQueues(args: ExporterArgs, log: Logger): Promise<number> {
  const lists = exporterLists(args);
  const stop = stopSignal(log);
  try {
    return await serveWhileConnected(
      { port: args['metrics-port'], connection: queueConnection(args, lists, log), connect: connectClient, log, signal: stop.signal },
      async () => {
        log.info('queue exporter running', { lists });
        await sleep(Infinity, stop.signal);
      },
      (registry, redis) => createQueueExporter({ redis, lists, registry, scrapeTimeoutMs: args['scrape-timeout'] * 1000, log }),
    );
  } finally {
    stop.dispose();
  }
}

export const run = runCommand(exportQueues);
