/** The work of `redis-keda scaler`, loaded when it runs. */
import { startHealthServer } from '../../http/health-server';
import { createRegistry } from '../../http/registry';
import type { Logger } from '../../log';
import { closeRedis, connectClient, RedisClient } from '../../redis/connection';
import { createScalerMetrics } from '../../scaler/metrics';
import { ForecastReader } from '../../scaler/reader';
import { createScalerService, startGrpcServer } from '../../scaler/server';
import { serverTls } from '../../scaler/tls';
import { sleep } from '../../sleep';
import { connectionOptions, runCommand, stopSignal } from '../common';
import type { ScalerArgs } from '../scaler';

/**
 * gRPC and the probes start at once and Redis is waited for as long as it takes (no crash loop while it is down):
 * GetMetricSpec needs no Redis, and the calls that do answer UNAVAILABLE meanwhile. Credentials Redis refuses end
 * the command (exit 1). SIGTERM: open streams end, calls in flight finish (a deadline at most), exit 0.
 */
async function scale(args: ScalerArgs, log: Logger): Promise<number> {
  const stop = stopSignal(log);
  const tls = serverTls(args['tls-dir']);
  const registry = createRegistry();
  let redis: RedisClient | undefined;
  const reader = new ForecastReader({ redis: () => redis, cacheTtlMs: args['cache-ttl'] });
  const service = createScalerService({
    reader,
    metrics: createScalerMetrics(registry),
    log,
    deadlineMs: args.deadline,
    staleAfterSeconds: args['stale-after'],
    streamIntervalMs: args['stream-interval'] * 1000,
  });
  const health = await startHealthServer({ port: args['metrics-port'], registry, log, isHealthy: () => !stop.signal.aborted, isReady: () => reader.ready() });
  const grpcServer = await startGrpcServer(service.implementation, args.port, tls.credentials).catch(async (error: unknown) => {
    await health.close();
    throw error;
  });
  log.info('scaler listening', { port: grpcServer.port, ...tls.description, deadlineMs: args.deadline, staleAfterSeconds: args['stale-after'], cacheTtlMs: args['cache-ttl'] });
  try {
    try {
      // A command outlives its call by at most a deadline: the call's own deadline answers first, and nothing piles up.
      redis = await connectClient({ ...connectionOptions(args, log), connectTimeoutMs: Infinity, commandTimeoutMs: 2 * args.deadline }, log, stop.signal);
      log.info('scaler running: redis connected');
    } catch (error) {
      if (!stop.signal.aborted) throw error;
    }
    await sleep(Infinity, stop.signal);
    return 0;
  } finally {
    service.endStreams();
    await grpcServer.shutdown(args.deadline + 1000);
    await health.close();
    if (redis) await closeRedis(redis);
    stop.dispose();
    log.info('scaler stopped');
  }
}

export const run = runCommand(scale);
