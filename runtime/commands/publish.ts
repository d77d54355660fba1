/** `redis-keda publish`: push demo events onto the list, a fixed number or until SIGTERM. */
import type { CommandModule } from 'yargs';
import { Commands, Env, Options } from '../contract';
import { addEnvOptions, EnvOption, MAX_DURATION_SECONDS, OptionValues, UsageError } from '../config';
import { MAX_PUBLISH_RATE, PUBLISH_DEFAULTS } from '../contract';
import { lazyHandler } from './lazy';
import { LIST_OPTIONS, METRICS_OPTIONS, REDIS_EPILOGUE, REDIS_OPTIONS } from './options';

const OPTIONS = {
  count: { env: Env.PUBLISH_COUNT, type: 'number', integer: true, min: 0, describe: 'Publish this many events, then exit 0 (give this or --forever)' },
  [Options.FOREVER]: { env: Env.PUBLISH_FOREVER, type: 'boolean', default: false, describe: 'Publish until SIGTERM, serving /healthz and /metrics' },
  batch: { env: Env.PUBLISH_BATCH, type: 'number', integer: true, min: 1, default: PUBLISH_DEFAULTS.batch, describe: 'Events per batch (one LPUSH each)' },
  interval: {
    env: Env.PUBLISH_INTERVAL,
    type: 'number',
    max: MAX_DURATION_SECONDS,
    min: 0,
    defaultDescription: String(PUBLISH_DEFAULTS.intervalSeconds),
    describe: 'Seconds between batches (not with --rate or --rate-file)',
  },
  rate: {
    env: Env.PUBLISH_RATE,
    type: 'number',
    above: 0,
    max: MAX_PUBLISH_RATE,
    describe:
      'Events per second, paced on absolute deadlines; each LPUSH carries --batch events and leaves when its last event is due (with --rate-file: the rate until the file holds a valid one)',
  },
  'rate-file': {
    env: Env.PUBLISH_RATE_FILE,
    type: 'string',
    describe: 'File whose content is the rate (events per second, 0 pauses), followed live, e.g. a mounted ConfigMap key; a bad or missing value keeps the last good rate',
  },
  'wait-min': {
    env: Env.WAIT_MIN,
    type: 'number',
    max: MAX_DURATION_SECONDS,
    integer: true,
    min: 0,
    default: PUBLISH_DEFAULTS.waitMin,
    describe: "Smallest 'wait' (seconds) of an event",
  },
  'wait-max': {
    env: Env.WAIT_MAX,
    type: 'number',
    max: MAX_DURATION_SECONDS,
    integer: true,
    min: 0,
    default: PUBLISH_DEFAULTS.waitMax,
    describe: "Largest 'wait' (seconds) of an event",
  },
  ...LIST_OPTIONS,
  ...METRICS_OPTIONS,
  ...REDIS_OPTIONS,
} satisfies Record<string, EnvOption>;

export type Args = OptionValues<typeof OPTIONS>;

/** Why a combination of the pacing options contradicts itself, or undefined when it does not. */
export function pacingProblem(args: Pick<Args, 'rate' | 'rate-file' | 'interval'>): string | undefined {
  if (args.interval === undefined) return undefined;
  const interval = `--interval (env ${Env.PUBLISH_INTERVAL}) ${args.interval}`;
  if (args['rate-file'] !== undefined)
    return `${interval} contradicts --rate-file (env ${Env.PUBLISH_RATE_FILE}) ${args['rate-file']}: a rate sets the time between batches (batch / rate); give one of them`;
  if (args.rate !== undefined)
    return `${interval} contradicts --rate (env ${Env.PUBLISH_RATE}) ${args.rate}: a rate sets the time between batches (batch / rate); give one of them`;
  return undefined;
}

export const publishCommand: CommandModule = {
  command: Commands.PUBLISH,
  describe: 'Push events {"id", "enqueuedAt", "wait"} onto the list in batches',
  builder: (yargs) =>
    addEnvOptions(yargs, OPTIONS)
      .check((argv) => {
        const args = argv as unknown as Args;
        if (args.count === undefined && !args.forever) throw new Error(`give --count (env ${Env.PUBLISH_COUNT}) or --forever (env ${Env.PUBLISH_FOREVER})`);
        if (args.count !== undefined && args.forever) throw new Error('give either --count or --forever, not both');
        const pacing = pacingProblem(args);
        if (pacing) throw new UsageError(pacing);
        if (args['wait-min'] > args['wait-max']) throw new Error(`--wait-min (${args['wait-min']}) must not be greater than --wait-max (${args['wait-max']})`);
        return true;
      })
      .example('$0 publish --count 25 --batch 10 --interval 0', 'publish 25 events at once, then exit')
      .example('$0 publish --forever --batch 10 --interval 10', 'the demo publisher')
      .example('$0 publish --forever --rate 50 --batch 5', '50 events per second, 5 per LPUSH (10 LPUSHes a second)')
      .example('$0 publish --forever --rate-file /etc/publisher/rate', 'the rate a mounted ConfigMap key holds, followed live')
      .epilogue(REDIS_EPILOGUE),
  handler: lazyHandler(() => import('./run/publish')),
};
