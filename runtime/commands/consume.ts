/** `redis-keda consume`: handle events, one (`--once`, a Job) or in a loop (a Deployment). */
import { existsSync } from 'fs';
import { dirname } from 'path';
import type { CommandModule } from 'yargs';
import { CLAIM_FILE, DEFAULT_LEASE_SECONDS, Env } from '../contract';
import { addEnvOptions, EnvOption, OptionValues } from '../config';
import { startHealthServer } from '../http/health-server';
import type { Logger } from '../log';
import { createConsumerMetrics, createRegistry } from '../metrics';
import { consumeOnce, runConsumer } from '../queue/consumer';
import { demoHandler, loadHandler } from '../queue/handler';
import { closeRedis, connectRedis } from '../redis/connection';
import { connectionOptions, LIST_OPTIONS, METRICS_OPTIONS, REDIS_EPILOGUE, REDIS_OPTIONS, runCommand, stopSignal } from './common';

const OPTIONS = {
  once: { env: Env.CONSUME_ONCE, type: 'boolean', default: false, describe: 'Job mode: take one event, handle it, exit 0 (also when the list is empty)' },
  concurrency: { env: Env.CONSUME_CONCURRENCY, type: 'number', integer: true, min: 1, default: 1, describe: 'Loop mode: events handled at the same time' },
  lease: {
    env: Env.LEASE_SECONDS,
    type: 'number',
    above: 0,
    default: DEFAULT_LEASE_SECONDS,
    describe: 'Seconds an event stays leased without renewal; renewed every third of it while the handler runs, requeued once it runs out',
  },
  handler: {
    env: Env.HANDLER,
    type: 'string',
    defaultDescription: 'the demo handler',
    describe: "Module (path relative to the working directory) exporting async (event) => void as default, module.exports or 'handle'; throwing dead-letters the event",
  },
  'sleep-scale': { env: Env.SLEEP_SCALE, type: 'number', min: 0, default: 1, describe: "Demo handler: sleep 'wait' times this many seconds" },
  'ready-file': {
    env: Env.READY_FILE,
    type: 'string',
    defaultDescription: `${CLAIM_FILE}, skipped if its directory is missing`,
    describe: 'Job mode: file written once the event is held, removed on exit (the readiness probe checks it)',
  },
  ...LIST_OPTIONS,
  ...METRICS_OPTIONS,
  ...REDIS_OPTIONS,
} satisfies Record<string, EnvOption>;

type Args = OptionValues<typeof OPTIONS>;

export const consumeCommand: CommandModule = {
  command: 'consume',
  describe: 'Take events from the list under a lease and handle them; malformed or failed events go to <list>:dead',
  builder: (yargs) =>
    addEnvOptions(yargs, OPTIONS)
      .example('$0 consume --once', 'Job mode (a KEDA ScaledJob): one event, then exit')
      .example('$0 consume --concurrency 4', 'loop mode (a Deployment scaled by a KEDA ScaledObject)')
      .epilogue(REDIS_EPILOGUE),
  handler: runCommand(consume),
};

async function consume(args: Args, log: Logger): Promise<number> {
  const handler = args.handler ? await loadHandler(args.handler) : demoHandler(args['sleep-scale']);
  const redis = await connectRedis(connectionOptions(args), log);
  const common = { redis, list: args.list, leaseSeconds: args.lease, handler, log };
  try {
    if (args.once) {
      const result = await consumeOnce({ ...common, readyFile: readyFile(args['ready-file'], log) });
      log.debug('consume --once done', { outcome: result.outcome });
      return 0;
    }
    const registry = createRegistry();
    const stop = stopSignal(log);
    const server = await startHealthServer({ port: args['metrics-port'], registry, log, isHealthy: () => !stop.signal.aborted });
    try {
      await runConsumer({ ...common, concurrency: args.concurrency, signal: stop.signal, metrics: createConsumerMetrics(registry) });
      return 0;
    } finally {
      stop.dispose();
      await server.close();
    }
  } finally {
    await closeRedis(redis);
  }
}

/** A ready file given explicitly must work; the default is skipped outside a pod with the emptyDir. */
function readyFile(given: string | undefined, log: Logger): string | undefined {
  if (given !== undefined) return given;
  if (existsSync(dirname(CLAIM_FILE))) return CLAIM_FILE;
  log.debug('no ready file: its directory does not exist', { readyFile: CLAIM_FILE });
  return undefined;
}
