/** Plumbing the command bodies share: the Redis connection the options name, exit codes, stop signals. */
import { Env, hashTag } from '../contract';
import { parseNodeAddresses } from '../cluster/addresses';
import { OptionValues, typedValue, UsageError } from '../config';
import { createLogger, defaultLogFormat, errorMessage, isLogLevel, Logger } from '../log';
import { parseRedisUrl, RedisConnectionOptions } from '../redis/connection';
import type { REDIS_OPTIONS } from './options';

type RedisArgs = OptionValues<typeof REDIS_OPTIONS>;

/**
 * The connection the options name. Warns (without the secret) when the password came on the
 * command line: `--redis redis://:PW@...` shows in every process list, env does not.
 */
export function connectionOptions(args: RedisArgs, log?: Logger, env: NodeJS.ProcessEnv = process.env): RedisConnectionOptions {
  const typed = typedValue('redis');
  if (log && typed !== undefined && hasPassword(typed)) {
    log.warn(`the Redis password was given on the command line (--redis), where any process list shows it; set env ${Env.REDIS_PASSWORD}, or ${Env.REDIS_URL}, instead`);
  }
  const cluster = args['redis-cluster-nodes'];
  const clusterNodes = cluster === undefined ? undefined : parseNodeAddresses(cluster, `--redis-cluster-nodes (env ${Env.REDIS_CLUSTER_NODES})`);
  return {
    url: args.redis,
    host: args['redis-host'],
    port: args['redis-port'],
    db: args['redis-db'],
    ...credentialOptions(args, env),
    connectionName: 'redis-keda',
    ...(clusterNodes ? { clusterNodes } : {}),
  };
}

/**
 * The connection of a queue program over `lists`. On a cluster every list must carry a hash tag:
 * the queue's scripts touch all of its keys at once, which a cluster allows only within one slot.
 * Enforced, not added: the list name is what producers LPUSH to and KEDA counts, so a name changed
 * behind the user's back would have them feed and count a key no consumer reads.
 */
export function queueConnection(args: RedisArgs, lists: readonly string[], log?: Logger): RedisConnectionOptions {
  const options = connectionOptions(args, log);
  const untagged = options.clusterNodes ? lists.filter((list) => hashTag(list) === undefined) : [];
  if (untagged.length > 0) {
    throw new UsageError(
      `on a Redis Cluster (--redis-cluster-nodes) a queue's keys must share one slot: name the list with a hash tag, e.g. '{${untagged[0]}}' instead of '${untagged[0]}'`,
    );
  }
  return options;
}

/** The connection of a program that needs one server: kombu's keys of one queue (and its results) span slots. */
export function singleServerConnection(args: RedisArgs, command: string, log?: Logger): RedisConnectionOptions {
  if (args['redis-cluster-nodes'] !== undefined) {
    throw new UsageError(
      `${command} cannot run on a Redis Cluster (--redis-cluster-nodes / env ${Env.REDIS_CLUSTER_NODES}): Celery's (kombu's) keys of one queue lie in different slots; give it a single Redis server`,
    );
  }
  return connectionOptions(args, log);
}

/** Who connects and how (user, password from the env, TLS, connect timeout): what every server of a command shares. */
export function credentialOptions(
  args: Pick<RedisArgs, 'redis-username' | 'redis-tls' | 'redis-tls-ca-file' | 'redis-connect-timeout'>,
  env: NodeJS.ProcessEnv = process.env,
): Pick<RedisConnectionOptions, 'username' | 'password' | 'tls' | 'tlsCaFile' | 'tlsCa' | 'connectTimeoutMs'> {
  return {
    username: args['redis-username'],
    password: env[Env.REDIS_PASSWORD] || undefined,
    tls: args['redis-tls'],
    tlsCaFile: args['redis-tls-ca-file'],
    tlsCa: env[Env.REDIS_TLS_CA] || undefined,
    connectTimeoutMs: args['redis-connect-timeout'] * 1000,
  };
}

function hasPassword(url: string): boolean {
  try {
    return parseRedisUrl(url).password !== undefined;
  } catch {
    return /:\/\/[^@\s]*:[^@\s]*@/.test(url);
  }
}

/**
 * Wraps a command body for yargs: builds the logger, turns the result into the exit code (the
 * body's number, else 0), logs an unexpected error and exits 1, a {@link UsageError} 2.
 */
export function runCommand<A>(body: (args: A, log: Logger) => Promise<number | void>): (argv: unknown) => Promise<void> {
  return async (argv) => {
    const { 'log-level': level, 'log-format': format } = argv as { 'log-level'?: unknown; 'log-format'?: unknown };
    const log = createLogger({ level: isLogLevel(level) ? level : 'info', format: defaultLogFormat(format) });
    try {
      process.exitCode = (await body(argv as A, log)) ?? 0;
    } catch (error) {
      if (error instanceof UsageError) {
        log.error(`usage error: ${error.message}`);
        process.exitCode = 2;
      } else {
        log.error(errorMessage(error));
        log.debug('stack of the error above', { stack: error instanceof Error ? error.stack : undefined });
        process.exitCode = 1;
      }
    }
  };
}

/** Aborts on SIGTERM or SIGINT: long-running commands stop taking work, finish what they hold and exit 0. */
export function stopSignal(log: Logger): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) return;
    log.info('stopping', { signal: name });
    controller.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.removeListener('SIGTERM', onSignal);
      process.removeListener('SIGINT', onSignal);
    },
  };
}
