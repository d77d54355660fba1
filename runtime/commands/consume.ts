/** `redis-keda consume`: handle events, one (`--once`, a Job) or in a loop (a Deployment). */
import { existsSync } from 'fs';
import { dirname } from 'path';
import type Redis from 'ioredis';
import type { CommandModule } from 'yargs';
import {
  CLAIM_FILE,
  Commands,
  DEFAULT_BACKOFF_MAX_SECONDS,
  DEFAULT_BACKOFF_SECONDS,
  DEFAULT_CONSUME_CONCURRENCY,
  DEFAULT_GRACE_SECONDS,
  DEFAULT_LEASE_SECONDS,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_MAX_DELIVERIES,
  Env,
  Options,
  READY_PATH,
} from '../contract';
import { addEnvOptions, EnvOption, MAX_DURATION_SECONDS, OptionValues } from '../config';
import { startHealthServer } from '../http/health-server';
import type { Logger } from '../log';
import { createConsumerMetrics, createRegistry } from '../metrics';
import { consumeOnce, ConsumerOptions, runConsumer } from '../queue/consumer';
import { demoHandler, loadHandler } from '../queue/handler';
import { closeRedis, connectRedis } from '../redis/connection';
import { connectionOptions, LIST_OPTIONS, METRICS_OPTIONS, REDIS_EPILOGUE, REDIS_OPTIONS, runCommand, stopSignal } from './common';

const DELIVERY = 'Retries and delivery limits:';

const OPTIONS = {
  [Options.ONCE]: { env: Env.CONSUME_ONCE, type: 'boolean', default: false, describe: 'Job mode: take one event, handle it, exit 0 (also when the list is empty)' },
  concurrency: {
    env: Env.CONSUME_CONCURRENCY,
    type: 'number',
    integer: true,
    min: 1,
    default: DEFAULT_CONSUME_CONCURRENCY,
    describe: 'Loop mode: events handled at the same time (each claim takes as many as there are free slots)',
  },
  lease: {
    env: Env.LEASE_SECONDS,
    type: 'number',
    max: MAX_DURATION_SECONDS,
    above: 0,
    default: DEFAULT_LEASE_SECONDS,
    describe: 'Seconds an event stays leased without renewal; renewed every third of it while the handler runs, requeued once it runs out',
  },
  grace: {
    env: Env.GRACE_SECONDS,
    type: 'number',
    max: MAX_DURATION_SECONDS,
    min: 0,
    default: DEFAULT_GRACE_SECONDS,
    describe: 'On SIGTERM: seconds handlers in hand may still run; events not finished by then go back to the list',
  },
  [Options.HANDLER]: {
    env: Env.HANDLER,
    type: 'string',
    defaultDescription: 'the demo handler',
    describe: "Module (path relative to the working directory) exporting async (event) => void as default, module.exports or 'handle'; a throw retries the event",
  },
  'sleep-scale': { env: Env.SLEEP_SCALE, type: 'number', min: 0, default: 1, describe: "Demo handler: sleep 'wait' times this many seconds" },
  'ready-file': {
    env: Env.READY_FILE,
    type: 'string',
    defaultDescription: `${CLAIM_FILE}, skipped if its directory is missing`,
    describe: 'Job mode: file written once the event is held, removed on exit (the readiness probe checks it)',
  },
  'max-attempts': {
    env: Env.MAX_ATTEMPTS,
    type: 'number',
    integer: true,
    min: 1,
    default: DEFAULT_MAX_ATTEMPTS,
    group: DELIVERY,
    describe: 'Handler failures after which an event goes to <list>:dead (reason handler-failed); before that it is retried with backoff',
  },
  backoff: {
    env: Env.BACKOFF_SECONDS,
    type: 'number',
    max: MAX_DURATION_SECONDS,
    min: 0,
    default: DEFAULT_BACKOFF_SECONDS,
    group: DELIVERY,
    describe: 'Seconds before the first retry of a failed event; doubles per failure (less up to 10 % jitter)',
  },
  'backoff-max': { env: Env.BACKOFF_MAX_SECONDS, type: 'number', max: MAX_DURATION_SECONDS, min: 0, default: DEFAULT_BACKOFF_MAX_SECONDS, group: DELIVERY, describe: 'The longest retry delay in seconds' },
  'max-deliveries': {
    env: Env.MAX_DELIVERIES,
    type: 'number',
    integer: true,
    min: 1,
    default: DEFAULT_MAX_DELIVERIES,
    group: DELIVERY,
    describe: 'Deliveries whose consumer died (lease ran out) after which the next claim dead-letters the event (reason max-deliveries)',
  },
  ...LIST_OPTIONS,
  ...METRICS_OPTIONS,
  ...REDIS_OPTIONS,
} satisfies Record<string, EnvOption>;

type Args = OptionValues<typeof OPTIONS>;

export const consumeCommand: CommandModule = {
  command: Commands.CONSUME,
  describe: 'Take events from the list under a lease and handle them; failures are retried with backoff, then go to <list>:dead',
  builder: (yargs) =>
    addEnvOptions(yargs, OPTIONS)
      .check((argv) => {
        const args = argv as unknown as Args;
        if (args['backoff-max'] < args.backoff) throw new Error(`--backoff-max (${args['backoff-max']}) must not be less than --backoff (${args.backoff})`);
        return true;
      })
      .example('$0 consume --once', 'Job mode (a KEDA ScaledJob): one event, then exit')
      .example('$0 consume --concurrency 4', 'loop mode (a Deployment scaled by a KEDA ScaledObject)')
      .epilogue(
        `Loop mode serves /healthz, ${READY_PATH} (503 while Redis is unreachable) and /metrics, and waits for Redis as long as it takes; ` +
          `Job mode gives up after --redis-connect-timeout (exit 1). On SIGTERM both stop claiming, give handlers --grace seconds, hand back the rest and exit 0. ` +
          REDIS_EPILOGUE,
      ),
  handler: runCommand(consume),
};

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
  const redis = await connectRedis(connectionOptions(args, log), log);
  try {
    const result = await consumeOnce({ ...common, redis, readyFile: readyFile(args['ready-file'], log) });
    log.debug('consume --once done', { outcome: result.outcome });
    return 0;
  } finally {
    await closeRedis(redis);
  }
}

/** Loop mode: serves probes at once and waits for Redis as long as it takes (no crash loop while Redis is down). */
async function consumeInLoop(args: Args, log: Logger, common: Common): Promise<number> {
  const registry = createRegistry();
  let redis: Redis | undefined;
  const server = await startHealthServer({
    port: args['metrics-port'],
    registry,
    log,
    isHealthy: () => !common.signal.aborted,
    isReady: () => redis?.status === 'ready',
  });
  try {
    try {
      redis = await connectRedis({ ...connectionOptions(args, log), connectTimeoutMs: Infinity }, log, common.signal);
    } catch (error) {
      if (common.signal.aborted) return 0;
      throw error;
    }
    await runConsumer({ ...common, redis, concurrency: args.concurrency, metrics: createConsumerMetrics(registry) });
    return 0;
  } finally {
    await server.close();
    if (redis) await closeRedis(redis);
  }
}

/** A ready file given explicitly must work; the default is skipped outside a pod with the emptyDir. */
function readyFile(given: string | undefined, log: Logger): string | undefined {
  if (given !== undefined) return given;
  if (existsSync(dirname(CLAIM_FILE))) return CLAIM_FILE;
  log.debug('no ready file: its directory does not exist', { readyFile: CLAIM_FILE });
  return undefined;
}
