/** `redis-keda consume`: handle events, one (`--once`, a Job) or in a loop (a Deployment). */
import type { CommandModule } from 'yargs';
import {
  CLAIM_FILE,
  DEFAULT_BACKOFF_MAX_SECONDS,
  DEFAULT_BACKOFF_SECONDS,
  DEFAULT_LEASE_SECONDS,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_MAX_DELIVERIES,
  Commands,
  DEFAULT_CONSUME_CONCURRENCY,
  Env,
  Options,
  READY_PATH,
} from '../contract';
import { addEnvOptions, EnvOption, MAX_DURATION_SECONDS, OptionValues } from '../config';
import { lazyHandler } from './lazy';
import { graceOption, LIST_OPTIONS, METRICS_OPTIONS, REDIS_EPILOGUE, REDIS_OPTIONS } from './options';

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
  grace: graceOption('On SIGTERM: seconds handlers in hand may still run; events not finished by then go back to the list'),
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
  'backoff-max': {
    env: Env.BACKOFF_MAX_SECONDS,
    type: 'number',
    max: MAX_DURATION_SECONDS,
    min: 0,
    default: DEFAULT_BACKOFF_MAX_SECONDS,
    group: DELIVERY,
    describe: 'The longest retry delay in seconds',
  },
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

export type Args = OptionValues<typeof OPTIONS>;

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
  handler: lazyHandler(() => import('./run/consume')),
};
