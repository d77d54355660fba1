/** The work of `redis-keda queue <subcommand>`, loaded when a subcommand runs. */
import type { Logger } from '../../log';
import { Queue } from '../../queue/queue';
import { closeRedis, connectClient } from '../../redis/connection';
import { queueConnection, runCommand } from '../common';
import type { Args } from '../queue';

/** A queue subcommand's work: its result is printed as one JSON line. */
export type QueueOperation<A> = (queue: Queue, args: A, log: Logger) => Promise<object | void>;

/**
 * Checks `args` (before connecting: a usage error needs no Redis), runs `body` against the queue
 * named by the options, and prints its result as one JSON line.
 */
export function onQueue(body: QueueOperation<Args>, check: (args: Args) => void): (argv: unknown) => Promise<void> {
  return runCommand<Args>(async (args, log) => {
    check(args);
    const redis = await connectClient(queueConnection(args, [args.list], log), log);
    try {
      const result = await body(new Queue(redis, args.list), args, log);
      if (result) process.stdout.write(JSON.stringify(result) + '\n');
      return 0;
    } finally {
      await closeRedis(redis);
    }
  });
}
