/**
 * `redis-keda queue <subcommand>`: operations on a queue's keys (results as JSON on stdout).
 * Destructive subcommands (redrive, purge) do nothing without `--yes` (exit 2): no prompts, so
 * they behave the same in a terminal, a Job and a script. `--yes` has no environment variable on
 * purpose: a confirmation must be given on the command line.
 */
import type { Argv, CommandModule } from 'yargs';
import { addEnvOptions, asTyped, EnvOption, OptionValues, UsageError } from '../config';
import { Commands, DEAD_LETTER_REASONS, DeadLetterReason, DEFAULT_EXPORTER_SCRAPE_TIMEOUT_SECONDS, Env, QueueCommands } from '../contract';
import type { QueueOperation } from './run/queue';
import { lazyHandler } from './lazy';
import { helpSections, LIST_OPTIONS, METRICS_OPTIONS, REDIS_EPILOGUE, REDIS_OPTIONS } from './options';

const OPTIONS = { ...LIST_OPTIONS, ...REDIS_OPTIONS } satisfies Record<string, EnvOption>;

export type Args = OptionValues<typeof OPTIONS> & {
  readonly count?: number;
  readonly yes?: boolean;
  readonly dead?: boolean;
  readonly all?: boolean;
  readonly reason?: DeadLetterReason;
};

/**
 * Checks `args` (before connecting: a usage error needs no Redis), runs `body` against the queue
 * named by the options, and prints its result as one JSON line.
 */
function withQueue(body: QueueOperation<Args>, check: (args: Args) => void = () => undefined): (argv: unknown) => Promise<void> {
  return async (argv) => (await import('./run/queue')).onQueue(body, check)(argv);
}

function countOption<T>(yargs: Argv<T>, describe: string, defaultValue?: number) {
  return yargs.option('count', { type: 'number', describe, default: defaultValue, requiresArg: true }).check((argv) => {
    const count = argv.count as unknown;
    if (count !== undefined && !(typeof count === 'number' && Number.isInteger(count) && count >= 1))
      throw new UsageError(`--count must be an integer of at least 1, got '${asTyped('count', count)}'`);
    return true;
  });
}

function confirmOption<T>(yargs: Argv<T>, what: string) {
  return yargs.option('yes', { type: 'boolean', default: false, describe: `Confirm: ${what}; without it nothing is changed (exit 2)` });
}

function requireYes(command: string, what: string): (args: Args) => void {
  return (args) => {
    if (!args.yes) throw new UsageError(`queue ${command} ${what}: add --yes to confirm (nothing was changed)`);
  };
}

const reap: CommandModule = {
  command: QueueCommands.REAP,
  builder: helpSections,
  describe: 'Requeue events whose lease ran out (their consumer died) and move due retries to the list; prints {"list", "requeued", "promoted"}',
  handler: withQueue(async (queue, _args, log) => {
    const requeued = await queue.reap();
    const promoted = await queue.promoteDue();
    log.info('reaped', { list: queue.list, requeued, promoted });
    return { list: queue.list, requeued, promoted };
  }),
};

const stats: CommandModule = {
  command: QueueCommands.STATS,
  builder: helpSections,
  describe: 'Print the counts {"list", "ready", "inflight", "delayed", "dead"}',
  handler: withQueue((queue) => queue.stats()),
};

const peekDead: CommandModule = {
  command: QueueCommands.PEEK_DEAD,
  describe:
    'Print the newest dead-letter entries, one JSON line each: {"event", "reason", "error", "attempts", "deliveries", "firstFailedAt", "failedAt"} (times in ISO 8601, as in the logs)',
  builder: (yargs) => helpSections(countOption(yargs, 'Entries to print, newest first', 10)),
  handler: withQueue(async (queue, args) => {
    // The entries as stored, their bytes untouched (an event need not be UTF-8), but for the times.
    for (const entry of await queue.peekDead(args.count ?? 10)) process.stdout.write(Buffer.concat([isoTimes(entry), Buffer.from('\n')]));
  }),
};

/**
 * A DeadLetter entry with its ms times as ISO 8601 strings. Works on the bytes (latin1 maps each
 * byte to one character and back): a quote inside `event` is escaped, so only the entry's own
 * fields match.
 */
export function isoTimes(entry: Buffer): Buffer {
  const text = entry.toString('latin1').replace(/"(firstFailedAt|failedAt)":(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g, (match, key: string, ms: string) => {
    const time = new Date(Number(ms));
    return Number.isNaN(time.getTime()) ? match : `"${key}":"${time.toISOString()}"`;
  });
  return Buffer.from(text, 'latin1');
}

const redrive: CommandModule = {
  command: QueueCommands.REDRIVE,
  describe: 'Put dead-lettered events back on the list exactly as published, oldest first, with fresh retry and delivery counts; prints {"list", "redriven", "skipped"}',
  builder: (yargs) =>
    helpSections(confirmOption(countOption(yargs, 'Redrive at most this many (the oldest) [default: all]'), 'move dead-lettered events back to the list')).option('reason', {
      type: 'string',
      choices: DEAD_LETTER_REASONS as unknown as string[],
      requiresArg: true,
      describe: 'Redrive only events dead-lettered for this reason; the others stay [default: any reason]',
    }),
  handler: withQueue(
    async (queue, args, log) => {
      const { redriven, skipped } = await queue.redrive(args.count ?? Infinity, undefined, args.reason);
      if (skipped > 0) log.warn('skipped dead-letter entries that are not DeadLetter JSON; they stay in the dead-letter list', { skipped, dead: queue.keys.dead });
      log.info('redriven', { list: queue.list, redriven, reason: args.reason });
      return { list: queue.list, redriven, skipped };
    },
    requireYes('redrive', 'moves dead-lettered events back to the list'),
  ),
};

const purge: CommandModule = {
  command: QueueCommands.PURGE,
  describe: 'Delete the dead-letter list (--dead) or every key of the queue (--all); prints {"list", "purged", "removed": {ready, inflight, delayed, dead}}',
  builder: (yargs) =>
    helpSections(confirmOption(yargs, 'delete'))
      .option('dead', { type: 'boolean', default: false, describe: 'Delete <list>:dead' })
      .option('all', { type: 'boolean', default: false, describe: 'Delete every key of the queue: ready, in-flight, delayed, counters, dead' })
      .check((argv) => {
        if (argv.dead === argv.all) throw new UsageError('queue purge: give exactly one of --dead or --all');
        return true;
      }),
  handler: withQueue(
    async (queue, args, log) => {
      const scope = args.all ? 'all' : 'dead';
      const removed = await queue.purge(scope);
      log.warn('purged', { ...removed, purged: scope });
      const { list, ...counts } = removed;
      return { list, purged: scope, removed: counts };
    },
    (args) => requireYes('purge', args.all ? 'deletes every key of the queue' : 'deletes the dead-letter list')(args),
  ),
};

const EXPORTER_OPTIONS = {
  lists: {
    env: Env.EXPORTER_LISTS,
    type: 'string',
    defaultDescription: 'the --list',
    describe: 'Comma-separated lists to export (each with its <list>:inflight, :delayed, :dead keys)',
  },
  'scrape-timeout': {
    env: Env.EXPORTER_SCRAPE_TIMEOUT,
    type: 'number',
    above: 0,
    max: 60,
    default: DEFAULT_EXPORTER_SCRAPE_TIMEOUT_SECONDS,
    describe: 'Seconds a scrape waits for Redis before it serves up 0 (and no depth series)',
  },
  ...METRICS_OPTIONS,
} satisfies Record<string, EnvOption>;

export type ExporterArgs = Args & OptionValues<typeof EXPORTER_OPTIONS>;

/** The lists of `--lists a,b` (else the one --list): blanks around names ignored, duplicates once; an empty name is a usage error. */
export function exporterLists(args: Pick<ExporterArgs, 'lists' | 'list'>): string[] {
  if (args.lists === undefined) return [args.list];
  const names = args.lists.split(',').map((name) => name.trim());
  if (names.some((name) => name === '')) throw new UsageError(`--lists (or env ${Env.EXPORTER_LISTS}) must be list names separated by commas, got '${args.lists}'`);
  return [...new Set(names)];
}

const exporter: CommandModule = {
  command: QueueCommands.EXPORTER,
  describe: `Serve each list's depth by state and the age of its oldest ready event on /metrics (with /healthz, /readyz) until SIGTERM, whether or not a consumer runs`,
  builder: (yargs) =>
    helpSections(addEnvOptions(yargs, EXPORTER_OPTIONS)).check((argv) => {
      exporterLists(argv as unknown as ExporterArgs);
      return true;
    }),
  handler: lazyHandler(() => import('./run/queue-exporter')),
};

export const queueCommand: CommandModule = {
  command: Commands.QUEUE,
  describe: 'Queue operations: stats, reap, peek-dead, redrive, purge, exporter',
  builder: (yargs) =>
    addEnvOptions(yargs, OPTIONS)
      .command(stats)
      .command(reap)
      .command(peekDead)
      .command(redrive)
      .command(purge)
      .command(exporter)
      .demandCommand(1, 'name a queue subcommand: stats, reap, peek-dead, redrive, purge or exporter')
      .example('$0 queue reap', 'what the reaper CronJob runs')
      .example('$0 queue peek-dead --count 5', 'the five newest dead-letter entries')
      .example('$0 queue redrive --yes', 'every dead-lettered event back onto the list')
      .example('$0 queue exporter --lists events,orders', 'what the QueueExporter Deployment runs')
      .epilogue(REDIS_EPILOGUE),
  handler: () => undefined,
};
