/**
 * The forecaster's own paths: `/forecast/current?workload=` (the record in Redis as stored; 404 when there is
 * none, 400 for a workload this forecaster does not serve, 503 while Redis does not answer) and `/workloads` (each
 * workload's last run as this replica saw it).
 */
import { forecastKey, ForecasterPaths } from '../contract';
import type { Route, RouteAnswer } from '../http/health-server';
import { errorMessage } from '../log';
import type { RedisClient } from '../redis/connection';
import type { WorkloadState } from './workload-runner';

const json = (status: number, body: unknown): RouteAnswer => ({ status, body: JSON.stringify(body) });

export function forecasterRoutes(options: {
  readonly id: string;
  readonly workloads: readonly WorkloadState[];
  /** The client, once connected. */
  readonly redis: () => RedisClient | undefined;
}): Record<string, Route> {
  const names = options.workloads.map((w) => w.name);
  return {
    [ForecasterPaths.CURRENT]: async (url) => {
      const workload = url.searchParams.get('workload');
      if (!workload) return json(400, { error: `name the workload: ${ForecasterPaths.CURRENT}?workload=<name> (one of ${names.join(', ')})` });
      if (!names.includes(workload)) return json(400, { error: `unknown workload '${workload}': this forecaster serves ${names.join(', ')}` });
      const redis = options.redis();
      if (redis?.status !== 'ready') return json(503, { error: 'Redis is not reachable' });
      let stored: string | null;
      try {
        stored = await redis.get(forecastKey(workload));
      } catch (error) {
        return json(503, { error: `reading ${forecastKey(workload)} failed: ${errorMessage(error)}` });
      }
      if (stored === null) return json(404, { error: `no forecast of '${workload}' in Redis (none written yet, or the last one went stale)` });
      return { status: 200, body: stored };
    },
    [ForecasterPaths.WORKLOADS]: async () => json(200, { id: options.id, workloads: options.workloads }),
  };
}
