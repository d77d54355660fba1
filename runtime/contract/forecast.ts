/**
 * Predictive autoscaling's vocabulary: the Redis keys of a forecast and its writer's lease, the forecast's JSON
 * format, the forecaster's workload configuration, and the external scaler's trigger metadata. The forecaster
 * writes, the scaler reads and the constructs configure both from these names.
 */

/** A workload's name: a DNS label (it becomes part of Redis keys, metric labels and Kubernetes names). */
export const WORKLOAD_NAME_PATTERN = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Prefix of the forecast keys. */
export const FORECAST_KEY_PREFIX = 'forecast:';

/** The key holding a workload's latest {@link ForecastRecord} (a string of JSON with a TTL). */
export function forecastKey(workload: string): string {
  return `${FORECAST_KEY_PREFIX}${workload}`;
}

/**
 * The key of the lease a forecaster replica holds while it writes a workload's forecast. Its hash tag is the
 * forecast key, so on Redis Cluster both sit in one slot and one script can check the lease and write.
 */
export function forecastLeaseKey(workload: string): string {
  return `forecast-lease:{${forecastKey(workload)}}`;
}

/** What `forecast:<workload>` holds. */
export interface ForecastRecord {
  readonly workload: string;
  /** What the metric is (the PromQL query the history came from). */
  readonly metric: string;
  /** When the forecast was made: ISO 8601 (UTC). values[0] is the forecast for this instant. */
  readonly generatedAt: string;
  /** Seconds between two points of `values`, `quantiles` and `desiredReplicas`. */
  readonly step: number;
  /** Seconds covered: `values` has horizon / step + 1 points. */
  readonly horizon: number;
  /** The point forecast per step, from generatedAt on. */
  readonly values: readonly number[];
  /** Quantile forecasts by name ("p50", "p90": string keys, see `quantileKey`), each like `values`. */
  readonly quantiles: Readonly<Record<string, readonly number[]>>;
  /** Replicas each step needs, by the capacity policy (min, max and step limits applied). */
  readonly desiredReplicas: readonly number[];
  /** The model and policy that made it (name and its options). */
  readonly model: { readonly name: string; readonly options: Readonly<Record<string, unknown>> };
  /** What it was computed from. */
  readonly source: {
    /** The Prometheus server's URL, without credentials. */
    readonly prometheus: string;
    readonly query: string;
    /** Seconds of history asked for, and the resolution. */
    readonly window: number;
    readonly step: number;
    /** Samples the query returned, and the time of the newest (ISO 8601). */
    readonly samples: number;
    readonly lastSampleAt: string;
  };
  /** The workload's lead time in seconds (the scaler's default when the trigger gives none). */
  readonly leadTime: number;
  /** Which forecaster replica wrote it (its lease holder id). */
  readonly writer: string;
}

/** One workload of a forecaster (a flag set for one, the config file's `workloads` for many). */
export interface ForecastWorkloadConfig {
  /** {@link WORKLOAD_NAME_PATTERN}. */
  readonly name: string;
  /** PromQL giving one series: the load (for example requests per second). */
  readonly query: string;
  /** Load one pod serves. */
  readonly targetPerPod: number;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /** Seconds ahead the scaler looks (max desired replicas over [now, now + leadTime]). */
  readonly leadTimeSeconds: number;
  /** Seconds between forecasts. @default 30 */
  readonly intervalSeconds?: number;
  /** Resolution of the history and of the forecast. @default 60 */
  readonly stepSeconds?: number;
  /** Seconds of history queried each interval. @default 4 days (the planner's daily rise looks 3 days back, its calibration one more) */
  readonly windowSeconds?: number;
  /** Seconds the forecast covers. @default leadTimeSeconds + staleAfterSeconds, rounded up to whole steps (so it reaches now + leadTime until it is stale) */
  readonly horizonSeconds?: number;
  /** Seconds after generatedAt at which a forecast is stale (the key's TTL, and the scaler's refusal). @default 120 */
  readonly staleAfterSeconds?: number;
  /** The policy's headroom over the sizing quantile. @default the planner's */
  readonly headroom?: number;
  /** The sizing quantile. @default the planner's */
  readonly quantile?: number;
  /** Any other option of `createCapacityPlanner`. */
  readonly model?: Readonly<Record<string, unknown>>;
}

/** The forecaster's config file (JSON or YAML): `{ "prometheus": "...", "workloads": [...] }`. */
export interface ForecasterConfig {
  /** Prometheus' base URL; the PROMETHEUS_URL variable or `--prometheus-url` overrides it. */
  readonly prometheus?: string;
  readonly workloads: readonly ForecastWorkloadConfig[];
}

/** Where the Forecaster mounts its config ConfigMap, and the file in it. */
export const FORECAST_CONFIG_DIR = '/etc/redis-keda/forecast';
export const FORECAST_CONFIG_FILE_NAME = 'workloads.json';
export const FORECAST_CONFIG_FILE = `${FORECAST_CONFIG_DIR}/${FORECAST_CONFIG_FILE_NAME}`;

/** The forecaster's HTTP paths (beside /healthz, /readyz and /metrics on the metrics port). */
export const ForecasterPaths = {
  /** `?workload=<name>`: the stored forecast, 404 when there is none. */
  CURRENT: '/forecast/current',
  /** The configured workloads with their last run's state. */
  WORKLOADS: '/workloads',
} as const;

/** The external scaler's gRPC port (Kedastral's and gRPC's usual one). */
export const EXTERNAL_SCALER_PORT = 50051;

/** Where the ExternalScaler mounts its TLS Secret (tls.crt, tls.key, ca.crt: the kubernetes.io/tls layout). */
export const SCALER_TLS_DIR = '/etc/redis-keda/scaler-tls';

/** Keys of the `external` trigger's metadata the scaler reads (beside KEDA's own `scalerAddress`). */
export const ScalerMetadata = {
  WORKLOAD: 'workload',
  /** A duration: `300s`, `5m`, `1m30s`, or plain seconds. @default the forecast's own leadTime */
  LEAD_TIME: 'leadTime',
  /** A duration: a forecast older than this is refused (a gRPC error, so KEDA's fallback applies). @default 2m */
  STALE_AFTER: 'staleAfter',
} as const;

/** The metric name GetMetricSpec returns for a workload (KEDA prefixes it with `s<index>-`). */
export function forecastMetricName(workload: string): string {
  return `forecast-${workload}`;
}

/** A duration in the spelling the scaler's metadata takes: seconds, `300s`. */
export function durationMetadata(seconds: number): string {
  return `${seconds}s`;
}
