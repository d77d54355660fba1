/** The frame of the long-running commands that must not crash-loop while Redis is down. */
import type { Registry } from 'prom-client';
import { Route, startHealthServer } from '../../http/health-server';
import { createRegistry } from '../../http/registry';
import type { Logger } from '../../log';
import { closeRedis, RedisClient, RedisConnectionOptions } from '../../redis/connection';

/**
 * Serves `/healthz`, `/readyz` (ready while Redis is) and `/metrics` at once, waits for Redis as
 * long as it takes, then runs `body`; closes both after. Returns 0 when stopped before Redis answered.
 * `prepare` runs before the wait, with a getter of the client (undefined until connected).
 */
export async function serveWhileConnected<C extends RedisClient>(
  options: {
    readonly port: number;
    readonly connection: RedisConnectionOptions;
    /** connectRedis (one server) or connectClient (one server or a cluster). */
    readonly connect: (options: RedisConnectionOptions, log: Logger, signal: AbortSignal) => Promise<C>;
    readonly log: Logger;
    readonly signal: AbortSignal;
    /** More paths served beside the probes and /metrics. */
    readonly routes?: Readonly<Record<string, Route>>;
  },
  body: (redis: C, registry: Registry) => Promise<void>,
  prepare?: (registry: Registry, redis: () => C | undefined) => void,
): Promise<number> {
  const { log, signal } = options;
  const registry = createRegistry();
  let redis: C | undefined;
  const server = await startHealthServer({ port: options.port, registry, log, isHealthy: () => !signal.aborted, isReady: () => redis?.status === 'ready', routes: options.routes });
  prepare?.(registry, () => redis);
  try {
    try {
      redis = await options.connect({ ...options.connection, connectTimeoutMs: Infinity }, log, signal);
    } catch (error) {
      if (signal.aborted) return 0;
      throw error;
    }
    await body(redis, registry);
    return 0;
  } finally {
    await server.close();
    if (redis) await closeRedis(redis);
  }
}
