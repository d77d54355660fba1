/**
 * One way to reach Redis for every command: a URL, or host / port / credentials / TLS, with
 * explicit timeouts. The connect deadline makes a Job fail (exit 1) instead of hanging when
 * Redis is down; once connected, ioredis reconnects with capped backoff.
 */
import { readFileSync } from 'fs';
import Redis, { Cluster, ClusterOptions, RedisOptions } from 'ioredis';
import { REDIS_PORT } from '../contract';
import { Logger, redactUrls, silentLogger } from '../log';
import { setLongTimeout } from '../sleep';
import { DEFAULT_COMMAND_TIMEOUT_MS, DEFAULT_CONNECT_TIMEOUT_MS } from './defaults';

export { DEFAULT_COMMAND_TIMEOUT_MS, DEFAULT_CONNECT_TIMEOUT_MS } from './defaults';

export interface RedisConnectionOptions {
  /** `redis://[user[:password]@]host[:port][/db]` or `rediss://...` for TLS; wins over the fields below. */
  readonly url?: string;
  /** @default 'localhost' */
  readonly host?: string;
  /** @default 6379 */
  readonly port?: number;
  readonly username?: string;
  readonly password?: string;
  /** @default 0 */
  readonly db?: number;
  /** @default false (true for a `rediss://` URL) */
  readonly tls?: boolean;
  /** PEM CA bundle to verify the server with; implies TLS. */
  readonly tlsCaFile?: string;
  /** The PEM CA bundle itself (e.g. from a Secret); implies TLS. `tlsCaFile` wins when both are given. */
  readonly tlsCa?: string;
  /** How long {@link connectRedis} waits for the first connection, in ms; Infinity waits until it comes. @default 10000 */
  readonly connectTimeoutMs?: number;
  /** A command without a reply after this many ms fails (the connection is kept). @default 5000 */
  readonly commandTimeoutMs?: number;
  /** Shown by CLIENT LIST. */
  readonly connectionName?: string;
  /**
   * Seed nodes of a Redis Cluster: connect with a cluster client (slots learnt from any of them,
   * MOVED / ASK followed) instead of one server. The URL's host and port and `db` are then unused;
   * its credentials and TLS, and the fields above, apply to every node.
   */
  readonly clusterNodes?: readonly { readonly host: string; readonly port: number }[];
}

/** A client of one Redis server or of a Redis Cluster: the queue's commands are the same on both. */
export type RedisClient = Redis | Cluster;

/** Reconnect backoff: 100 ms doubling, capped, so a Redis restart costs at most a few seconds. */
export const MAX_RECONNECT_DELAY_MS = 3_000;

export function reconnectDelay(attempt: number): number {
  return Math.min(100 * 2 ** Math.max(0, attempt - 1), MAX_RECONNECT_DELAY_MS);
}

/** The ioredis options for a connection, without connecting. Pure except for reading the CA file. */
export function resolveRedisOptions(options: RedisConnectionOptions): RedisOptions {
  const target = options.url ? parseRedisUrl(options.url) : {};
  const tls = target.tls ?? options.tls ?? false;
  const ca = options.tlsCaFile ? readFileSync(options.tlsCaFile) : options.tlsCa?.trim() ? options.tlsCa : undefined;
  return {
    host: target.host ?? options.host ?? 'localhost',
    port: target.port ?? options.port ?? REDIS_PORT,
    username: target.username ?? options.username,
    password: target.password ?? options.password,
    db: target.db ?? options.db ?? 0,
    ...(tls || ca ? { tls: ca ? { ca } : {} } : {}),
    connectionName: options.connectionName,
    // RESP2: understood by every Redis version and keeps reply shapes plain.
    protocol: 2,
    connectTimeout: Math.min(options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_CONNECT_TIMEOUT_MS),
    commandTimeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    // A socket that does not close on disconnect() is destroyed after this (ioredis: 2 s, which holds a process open).
    disconnectTimeout: 500,
    retryStrategy: reconnectDelay,
    // Commands wait through a reconnect; commandTimeout (which covers queued commands too) bounds the wait.
    maxRetriesPerRequest: null,
    lazyConnect: true,
  };
}

interface UrlTarget {
  host?: string;
  port?: number;
  username?: string;
  password?: string;
  db?: number;
  tls?: boolean;
}

/** Parses a redis:// or rediss:// URL; throws with the reason when it is not one. */
export function parseRedisUrl(url: string): UrlTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`Redis URL '${redactUrls(url)}' is not a valid URL (expected redis://host:port or rediss://host:port)`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new Error(`Redis URL '${redactUrls(url)}' must start with redis:// or rediss://, not ${parsed.protocol}//`);
  }
  const dbText = parsed.pathname.replace(/^\//, '');
  const db = dbText === '' ? undefined : Number(dbText);
  if (db !== undefined && !(Number.isInteger(db) && db >= 0)) {
    throw new Error(`Redis URL '${redactUrls(url)}' has database '${dbText}'; expected a non-negative integer`);
  }
  return {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1') || undefined,
    port: parsed.port ? Number(parsed.port) : undefined,
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    db,
    tls: parsed.protocol === 'rediss:' ? true : undefined,
  };
}

/** Where a connection goes, for logs (no credentials). */
export function describeTarget(options: RedisOptions): string {
  return `${options.tls ? 'rediss' : 'redis'}://${options.host}:${options.port}/${options.db ?? 0}`;
}

/**
 * The cluster client's options: every node connection gets the single server's options (credentials,
 * TLS, timeouts, RESP2); the cluster reconnects with the same backoff. Redirections: a MOVED is
 * followed at once (and the slot map refreshed), TRYAGAIN (a multi-key command while the slot's
 * keys are split between two nodes in a migration) and CLUSTERDOWN are retried after a short delay.
 */
export function resolveClusterOptions(options: RedisConnectionOptions): ClusterOptions {
  // Only the fields a cluster client takes per node: host, port and db belong to the seed list and slot 0's db.
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { host, port, db, retryStrategy, ...node } = resolveRedisOptions(options);
  return {
    redisOptions: { ...node, lazyConnect: false },
    clusterRetryStrategy: reconnectDelay,
    lazyConnect: true,
    enableReadyCheck: true,
    // A slot in migration may bounce a command a few times (ASK, then TRYAGAIN until the last key moved).
    maxRedirections: 64,
    retryDelayOnTryAgain: 50,
    retryDelayOnClusterDown: 200,
    retryDelayOnFailover: 200,
    slotsRefreshTimeout: Math.min(options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_CONNECT_TIMEOUT_MS),
  };
}

/** The client for the options, not connected yet. */
function createClient(options: RedisConnectionOptions): { client: RedisClient; target: string } {
  if (!options.clusterNodes) {
    const redisOptions = resolveRedisOptions(options);
    return { client: new Redis(redisOptions), target: describeTarget(redisOptions) };
  }
  const clusterOptions = resolveClusterOptions(options);
  const scheme = clusterOptions.redisOptions?.tls ? 'rediss' : 'redis';
  const target = `cluster ${options.clusterNodes.map((n) => `${scheme}://${n.host}:${n.port}`).join(',')}`;
  return { client: clusterClient(options.clusterNodes, clusterOptions), target };
}

/** An ioredis Cluster whose nodes' ASKING replies cannot end the process (see {@link guardAsking}). Every cluster client is made here. */
export function clusterClient(nodes: readonly { readonly host: string; readonly port: number }[], options: ClusterOptions): Cluster {
  return guardAsking(
    new Cluster(
      nodes.map(({ host, port }) => ({ host, port })),
      options,
    ),
  );
}

/**
 * ioredis sends ASKING before a command an ASK redirects and drops that promise. When the node's connection closes
 * first (a master leaving the cluster while its slots move), the ASKING rejects with nobody to catch it and Node ends
 * the process. The redirected command fails too, to its caller, who retries it; ASKING's own failure adds nothing.
 */
function guardAsking(cluster: Cluster): Cluster {
  cluster.on('+node', (node: Redis) => {
    const asking = node.asking.bind(node);
    node.asking = ((...args: Parameters<typeof asking>) => {
      const reply = asking(...args);
      reply.catch(() => undefined);
      return reply;
    }) as typeof node.asking;
  });
  return cluster;
}

/** A second client to the same server or cluster (a blocking wait needs a connection of its own). */
export function duplicateClient(client: RedisClient, connectionName: string): RedisClient {
  if (client instanceof Cluster) return guardAsking(client.duplicate(undefined, { redisOptions: { ...client.options.redisOptions, connectionName } }));
  return client.duplicate({ connectionName });
}

/**
 * Connects and waits until Redis answers, retrying with backoff until the connect deadline
 * (then throws) or until `signal` aborts (then throws too). The returned client keeps
 * reconnecting on its own after later outages.
 */
export async function connectRedis(options: RedisConnectionOptions, log: Logger = silentLogger, signal?: AbortSignal): Promise<Redis> {
  if (options.clusterNodes) throw new Error('connectRedis makes a connection to one server; a cluster connection is made by connectClient');
  return (await connectClient(options, log, signal)) as Redis;
}

/** {@link connectRedis}, or a Cluster client when the options name cluster nodes: for what works on both (the queue). */
export async function connectClient(options: RedisConnectionOptions, log: Logger = silentLogger, signal?: AbortSignal): Promise<RedisClient> {
  const { client: redis, target } = createClient(options);
  const deadlineMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  let lastError: string | undefined;
  // Without a listener ioredis prints every reconnect failure itself, outside the JSON log.
  redis.on('error', (err: Error) => {
    if (err.message !== lastError) log.warn('redis connection error', { target, error: err.message });
    lastError = err.message;
  });
  let ready = false;
  redis.on('ready', () => {
    if (ready) log.info('redis reconnected', { target });
    ready = true;
  });

  try {
    await new Promise<void>((resolve, reject) => {
      const fail = (error: Error) => {
        timer?.clear();
        redis.removeListener('ready', onReady);
        redis.removeListener('error', onRefused);
        signal?.removeEventListener('abort', onAbort);
        reject(error);
      };
      const timer = Number.isFinite(deadlineMs)
        ? setLongTimeout(() => fail(new Error(`Redis at ${target} not reachable within ${deadlineMs / 1000}s${lastError ? `: ${lastError}` : ''}`)), deadlineMs)
        : undefined;
      const onAbort = () => fail(new Error(`stopped while waiting for Redis at ${target}`));
      // Retrying cannot fix wrong credentials: say so at once instead of "not reachable" later.
      const onRefused = (error: Error) => {
        if (isAuthError(error)) fail(new Error(`Redis at ${target} refused the credentials: ${error.message}`));
      };
      const onReady = () => {
        timer?.clear();
        signal?.removeEventListener('abort', onAbort);
        redis.removeListener('error', onRefused);
        resolve();
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      redis.once('ready', onReady);
      redis.on('error', onRefused);
      if (!Number.isFinite(deadlineMs)) log.info('waiting for redis', { target });
      // The first attempt's failure is reported through 'error'; the retry strategy goes on.
      redis.connect().catch(() => undefined);
    });
  } catch (error) {
    await disconnectRedis(redis);
    throw error;
  }
  log.debug('redis connected', { target });
  return redis;
}

/** Redis' answers to a wrong or missing password (and a disabled ACL user), in any Redis version. */
export function isAuthError(error: Error): boolean {
  return /\b(WRONGPASS|NOAUTH)\b|ERR invalid (username-)?password/.test(error.message);
}

/** QUIT politely and wait for the connection to end, but never long on a broken connection. */
export async function closeRedis(redis: RedisClient): Promise<void> {
  if (ended(redis)) return;
  const end = new Promise<void>((resolve) => redis.once('end', () => resolve()));
  redis.quit().catch(() => redis.disconnect());
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([end, new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000)))]);
  clearTimeout(timer);
  // Only when QUIT did not end it: disconnect() arms a 2 s timer of its own.
  if (!ended(redis)) redis.disconnect();
}

/**
 * Drops a connection at once (no QUIT: it may be stuck in a blocking command or a reconnect) and
 * waits until its socket is closed, so whoever gives it up leaves nothing running behind. The
 * bound is not unref'd: it keeps the process alive until the caller goes on, or a CLI could exit 0
 * on an empty event loop before reporting its error.
 */
export async function disconnectRedis(redis: RedisClient): Promise<void> {
  if (ended(redis)) return;
  let timer: NodeJS.Timeout | undefined;
  const end = new Promise<void>((resolve) => redis.once('end', () => resolve()));
  redis.disconnect();
  if (!ended(redis)) await Promise.race([end, new Promise<void>((resolve) => (timer = setTimeout(resolve, 600)))]);
  clearTimeout(timer);
}

function ended(redis: RedisClient): boolean {
  return redis.status === 'end';
}
