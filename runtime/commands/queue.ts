/** `redis-keda queue <subcommand>`: maintenance of a queue's keys (results as JSON on stdout). */
import type { CommandModule } from 'yargs';
import { addEnvOptions, EnvOption, OptionValues } from '../config';
import type { Logger } from '../log';
import { Queue } from '../queue/queue';
import { closeRedis, connectRedis } from '../redis/connection';
import { connectionOptions, LIST_OPTIONS, REDIS_EPILOGUE, REDIS_OPTIONS, runCommand } from './common';

const OPTIONS = { ...LIST_OPTIONS, ...REDIS_OPTIONS } satisfies Record<string, EnvOption>;

type Args = OptionValues<typeof OPTIONS>;

/** Runs `body` against the queue named by the options and prints its result as one JSON line. */
function withQueue(body: (queue: Queue, log: Logger) => Promise<object>) {
  return runCommand<Args>(async (args, log) => {
    const redis = await connectRedis(connectionOptions(args), log);
    try {
      const result = await body(new Queue(redis, args.list), log);
      process.stdout.write(JSON.stringify(result) + '\n');
      return 0;
    } finally {
      await closeRedis(redis);
    }
  });
}

const reap: CommandModule = {
  command: 'reap',
  describe: 'Requeue events whose lease ran out (their consumer died); prints {"list", "requeued"}',
  handler: withQueue(async (queue, log) => {
    const requeued = await queue.reap();
    log.info('reaped', { list: queue.list, requeued });
    return { list: queue.list, requeued };
  }),
};

const stats: CommandModule = {
  command: 'stats',
  describe: 'Print the counts {"list", "ready", "inflight", "delayed", "dead"}',
  handler: withQueue((queue) => queue.stats()),
};

export const queueCommand: CommandModule = {
  command: 'queue',
  describe: 'Queue maintenance: reap expired leases, show counts',
  builder: (yargs) =>
    addEnvOptions(yargs, OPTIONS)
      .command(reap)
      .command(stats)
      .demandCommand(1, 'name a queue subcommand: reap or stats')
      .example('$0 queue reap', 'what the reaper CronJob runs')
      .epilogue(REDIS_EPILOGUE),
  handler: () => undefined,
};
