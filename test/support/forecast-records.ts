/** ForecastRecords as the forecaster writes them (every field of the contract's format), with the parts a test sets. */
import type { Cluster, Redis } from 'ioredis';
import { forecastKey, ForecastRecord } from '../../runtime/contract';

export interface RecordParts {
  /** Seconds before now the forecast was made. */
  readonly ageSeconds: number;
  readonly desiredReplicas: readonly number[];
  /** @default 60 */
  readonly step?: number;
  /** @default 300 */
  readonly leadTime?: number;
}

export function forecastRecord(workload: string, parts: RecordParts, now = Date.now()): ForecastRecord {
  const step = parts.step ?? 60;
  const values = parts.desiredReplicas.map((r) => r * 50);
  return {
    workload,
    metric: `sum(rate(http_requests_total{app="${workload}"}[1m]))`,
    generatedAt: new Date(now - parts.ageSeconds * 1000).toISOString(),
    step,
    horizon: (parts.desiredReplicas.length - 1) * step,
    values,
    quantiles: { p90: values.map((v) => v * 1.1) },
    desiredReplicas: parts.desiredReplicas,
    model: { name: 'test', options: {} },
    source: { prometheus: 'http://127.0.0.1:9090', query: 'up', window: 3600, step, samples: 60, lastSampleAt: new Date(now).toISOString() },
    leadTime: parts.leadTime ?? 300,
    writer: 'test',
  };
}

/** SET forecast:<workload> to the record (with the TTL the forecaster gives it). */
export async function writeForecast(redis: Redis | Cluster, workload: string, parts: RecordParts): Promise<ForecastRecord> {
  const record = forecastRecord(workload, parts);
  await redis.set(forecastKey(workload), JSON.stringify(record), 'EX', 600);
  return record;
}
