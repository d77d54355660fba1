/**
 * Names of metrics other programs serve, which our dashboards and alerts read: Redis' exporter
 * (oliver006/redis_exporter, as kube-prometheus-stack and Debian's `prometheus-redis-exporter` ship it),
 * kube-state-metrics and KEDA. Ours are in the contract (`runtime/contract/metrics.ts`).
 */

/** Of redis_exporter (checked against Debian's prometheus-redis-exporter 1.45, the cluster ones with `--is-cluster` on Redis 7.0.15). */
export const RedisExporterMetrics = {
  UP: 'redis_up',
  MEMORY_USED_BYTES: 'redis_memory_used_bytes',
  /** 0 when no maxmemory is set. */
  MEMORY_MAX_BYTES: 'redis_memory_max_bytes',
  CONNECTED_CLIENTS: 'redis_connected_clients',
  COMMANDS_PROCESSED: 'redis_commands_processed_total',
  EVICTED_KEYS: 'redis_evicted_keys_total',
  REJECTED_CONNECTIONS: 'redis_rejected_connections_total',
  /** With `--is-cluster`: 1 when the node says cluster_state:ok. */
  CLUSTER_STATE: 'redis_cluster_state',
  /** With `--is-cluster`: slots the node sees in state ok. */
  CLUSTER_SLOTS_OK: 'redis_cluster_slots_ok',
  /** With `--is-cluster`: slots the node sees served by some master (16384 when every slot is). */
  CLUSTER_SLOTS_ASSIGNED: 'redis_cluster_slots_assigned',
  /** With `--is-cluster`: slots of masters the node sees in PFAIL (not reachable, not yet agreed failed). */
  CLUSTER_SLOTS_PFAIL: 'redis_cluster_slots_pfail',
  /** With `--is-cluster`: slots of masters the node sees in FAIL. */
  CLUSTER_SLOTS_FAIL: 'redis_cluster_slots_fail',
  /** With `--is-cluster`: nodes the node knows, handshaking ones included. */
  CLUSTER_KNOWN_NODES: 'redis_cluster_known_nodes',
  /** With `--is-cluster`: masters serving at least one slot, as the node sees them. */
  CLUSTER_SIZE: 'redis_cluster_size',
  /** The node's replication offset (a master's writes; how far a replica has applied them). */
  MASTER_REPL_OFFSET: 'redis_master_repl_offset',
  /** Of a master: replicas connected to it. */
  CONNECTED_SLAVES: 'redis_connected_slaves',
  /** Of a replica: 1 while its link to the master is up (labels `master_host`, `master_port`). */
  MASTER_LINK_UP: 'redis_master_link_up',
} as const;

/** Of kube-state-metrics (labels `namespace` plus `deployment`, `horizontalpodautoscaler` or `job_name`). */
export const KubeStateMetrics = {
  DEPLOYMENT_SPEC_REPLICAS: 'kube_deployment_spec_replicas',
  DEPLOYMENT_READY_REPLICAS: 'kube_deployment_status_replicas_ready',
  HPA_DESIRED_REPLICAS: 'kube_horizontalpodautoscaler_status_desired_replicas',
  HPA_MAX_REPLICAS: 'kube_horizontalpodautoscaler_spec_max_replicas',
  JOB_ACTIVE: 'kube_job_status_active',
  JOB_SUCCEEDED: 'kube_job_status_succeeded',
  JOB_FAILED: 'kube_job_status_failed',
} as const;

/**
 * Of the KEDA operator's `/metrics` (checked against the live KEDA v2.20.2 operator, e2e/keda-prometheus.test.ts).
 * The scaler series carry `namespace`, `scaledObject`, `scaler`, `metric`, `triggerIndex` and `type`: `scaler` is the
 * trigger's `name` when it has one, else KEDA's scaler type (`prometheusScaler`, `redisScaler`, ...); `metric` the
 * HPA's metric name (`s<triggerIndex>-<kind>`, e.g. `s0-prometheus`); `type` `scaledobject` or `scaledjob`. The
 * ScaledObject series carry only `namespace` and `scaledObject`. Scraped with a target label `namespace` (a
 * PodMonitor without `honorLabels`), KEDA's own `namespace` arrives as `exported_namespace`.
 */
export const KedaMetrics = {
  /** 1 while the trigger is active, else 0; scaler labels. */
  SCALER_ACTIVE: 'keda_scaler_active',
  /** The value the trigger last read (the query's value for `prometheus`); scaler labels. */
  SCALER_METRICS_VALUE: 'keda_scaler_metrics_value',
  /** Seconds the trigger's last read took; scaler labels. */
  SCALER_METRICS_LATENCY_SECONDS: 'keda_scaler_metrics_latency_seconds',
  /** Failed reads of the trigger (present from 0); scaler labels. */
  SCALER_DETAIL_ERRORS: 'keda_scaler_detail_errors_total',
  /** Failed reads of any trigger of the ScaledObject (present from 0); `namespace` and `scaledObject` only. */
  SCALED_OBJECT_ERRORS: 'keda_scaled_object_errors_total',
  /** 1 while the ScaledObject is paused, else 0; `namespace` and `scaledObject` only. */
  SCALED_OBJECT_PAUSED: 'keda_scaled_object_paused',
} as const;

/** Label names of the series above, and the target labels Prometheus attaches to every pod it scrapes. */
export const ExternalLabels = {
  /** A target label of every scraped pod; kube-state-metrics and KEDA also set it to the object's namespace. */
  NAMESPACE: 'namespace',
  /**
   * Where Prometheus moves a series' own `namespace` when the target's wins (scraped without `honorLabels`, as
   * KEDA's ServiceMonitor usually is): then `namespace` is the exporter's and this one the object's.
   */
  EXPORTED_NAMESPACE: 'exported_namespace',
  /** A target label of every scraped pod. */
  POD: 'pod',
  DEPLOYMENT: 'deployment',
  HPA: 'horizontalpodautoscaler',
  JOB_NAME: 'job_name',
  /** Of KEDA's series: the ScaledObject's (or ScaledJob's) name. */
  SCALED_OBJECT: 'scaledObject',
  SCALER: 'scaler',
  METRIC: 'metric',
  /** Of the histograms' `_bucket` series. */
  LE: 'le',
} as const;

/** KEDA names the HPA of a ScaledObject `keda-hpa-<name>`. */
export const KEDA_HPA_PREFIX = 'keda-hpa-';
