/**
 * Options the commands share (log, Redis connection, list, metrics port) and their help text.
 * Cheap to load: every command's options are built for `--help` without loading what it runs.
 */
import type { Argv } from 'yargs';
import { DEFAULT_GRACE_SECONDS, DEFAULT_LIST_NAME, Env, METRICS_PORT, REDIS_PORT } from '../contract';
import { EnvOption, GENERAL_OPTIONS, MAX_DURATION_SECONDS, OWN_OPTIONS } from '../config';
import { LOG_FORMATS, LOG_LEVELS } from '../log';
import { DEFAULT_CONNECT_TIMEOUT_MS } from '../redis/defaults';

const CONNECTION = 'Redis connection:';

export const LOG_OPTIONS = {
  'log-level': {
    env: Env.LOG_LEVEL,
    type: 'string',
    choices: LOG_LEVELS,
    default: 'info',
    group: GENERAL_OPTIONS,
    describe: 'Lowest level of the log lines written to stderr',
  },
  'log-format': {
    env: Env.LOG_FORMAT,
    type: 'string',
    choices: LOG_FORMATS,
    defaultDescription: 'text when stderr is a terminal, else json',
    group: GENERAL_OPTIONS,
    describe: 'Log lines as JSON objects (for pods and pipes) or as plain sentences',
  },
} satisfies Record<string, EnvOption>;

export const REDIS_OPTIONS = {
  redis: {
    env: Env.REDIS_URL,
    type: 'string',
    group: CONNECTION,
    sensitive: true,
    describe: 'Redis URL: redis://[user[:password]@]host[:port][/db], rediss:// for TLS; wins over the --redis-* host options',
  },
  'redis-cluster-nodes': {
    env: Env.REDIS_CLUSTER_NODES,
    type: 'string',
    group: CONNECTION,
    describe: 'Redis Cluster seed nodes host:port,host:port,...: connect as a cluster client (the list name needs a hash tag, e.g. {events}); host, port and db options unused',
  },
  'redis-host': { env: Env.REDIS_HOST, type: 'string', group: CONNECTION, default: 'localhost', describe: 'Redis host' },
  'redis-port': { env: Env.REDIS_PORT, type: 'number', group: CONNECTION, default: REDIS_PORT, integer: true, min: 1, max: 65535, describe: 'Redis port' },
  'redis-username': { env: Env.REDIS_USERNAME, type: 'string', group: CONNECTION, describe: 'Redis ACL user (the password comes from env REDIS_PASSWORD only)' },
  'redis-db': { env: Env.REDIS_DB, type: 'number', group: CONNECTION, default: 0, integer: true, min: 0, describe: 'Redis database number' },
  'redis-tls': { env: Env.REDIS_TLS, type: 'boolean', group: CONNECTION, default: false, describe: 'Connect with TLS' },
  'redis-tls-ca-file': { env: Env.REDIS_TLS_CA_FILE, type: 'string', group: CONNECTION, describe: 'PEM CA bundle to verify the server with (implies TLS)' },
  'redis-connect-timeout': {
    env: Env.REDIS_CONNECT_TIMEOUT,
    type: 'number',
    max: MAX_DURATION_SECONDS,
    group: CONNECTION,
    default: DEFAULT_CONNECT_TIMEOUT_MS / 1000,
    above: 0,
    describe: 'Seconds to keep trying to reach Redis at start before failing (exit 1); loop-mode consume waits as long as it takes',
  },
} satisfies Record<string, EnvOption>;

export const LIST_OPTIONS = {
  list: {
    env: Env.LIST_NAME,
    type: 'string',
    default: DEFAULT_LIST_NAME,
    describe: "Redis list of ready events; the queue's other keys are named <list>:inflight, <list>:delayed, <list>:dead, ...",
  },
} satisfies Record<string, EnvOption>;

export const METRICS_OPTIONS = {
  'metrics-port': {
    env: Env.METRICS_PORT,
    type: 'number',
    default: METRICS_PORT,
    integer: true,
    min: 0,
    max: 65535,
    describe: 'Port of /healthz, /readyz and /metrics while running long (0: any free port, logged)',
  },
} satisfies Record<string, EnvOption>;

/** `--grace` (env GRACE_SECONDS) of the long-running workers: the same bounds and default, in each its own words. */
export function graceOption(describe: string) {
  return { env: Env.GRACE_SECONDS, type: 'number', max: MAX_DURATION_SECONDS, min: 0, default: DEFAULT_GRACE_SECONDS, describe } as const satisfies EnvOption;
}

/**
 * Puts the help sections in their order, for a subcommand (whose own options yargs would list
 * after the sections it inherits): its own options, the connection, the general options.
 */
export function helpSections<T>(yargs: Argv<T>): Argv<T> {
  return yargs.group([], OWN_OPTIONS).group([], CONNECTION).group([], GENERAL_OPTIONS);
}

/** Help text for what is not a flag. */
export const REDIS_EPILOGUE =
  `Give the Redis password in env ${Env.REDIS_PASSWORD} (or inside env ${Env.REDIS_URL}), where the process list does not show it; a password in --redis does show there (a warning says so). ` +
  `A PEM CA bundle given as content goes in env ${Env.REDIS_TLS_CA} (implies TLS; --redis-tls-ca-file wins). ` +
  `Every option can be set by the environment variable named in its description; a flag wins over the variable. ` +
  `Logs go to stderr: JSON lines, or sentences on a terminal (--log-format). Exit codes: 0 done, 1 failed (e.g. Redis unreachable), 2 usage error.`;
