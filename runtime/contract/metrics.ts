/** Metric and label names served on `/metrics` (dashboards and alerts read the same names). */

/** Metric names served on `/metrics`. */
export const Metrics = {
  PUBLISHED: 'redis_keda_events_published_total',
  /** Events (publish) or tasks (celery-send) Redis refused at `maxmemory`: the queue was full. */
  PUBLISH_REJECTED: 'redis_keda_publish_rejected_total',
  PROCESSED: 'redis_keda_events_processed_total',
  FAILED: 'redis_keda_events_failed_total',
  DEAD_LETTERED: 'redis_keda_events_dead_lettered_total',
  REDELIVERED: 'redis_keda_events_redelivered_total',
  RETRIED: 'redis_keda_events_retried_total',
  PROCESSING_SECONDS: 'redis_keda_event_processing_seconds',
  /** enqueuedAt to acknowledgement. */
  LATENCY_SECONDS: 'redis_keda_event_latency_seconds',
  /** Events this process holds right now. */
  IN_FLIGHT: 'redis_keda_events_in_flight',
  /** Queue depth by `state`: ready, inflight, delayed, dead (`queue exporter` adds `list`; a consumer's own has none). */
  QUEUE_DEPTH: 'redis_keda_queue_depth',
  /** The publisher's target rate in events per second (from --rate or the rate file; 0 while paused). */
  PUBLISH_TARGET_RATE: 'redis_keda_publish_target_rate',
  /** Of `queue exporter`: seconds since the enqueuedAt of the ready event consumed next (0 for an empty list), by `list`. */
  QUEUE_OLDEST_READY_AGE: 'redis_keda_queue_oldest_ready_age_seconds',
  /** Of `queue exporter`: 1 when the last scrape read every list from Redis, else 0 (and no depth series). */
  QUEUE_EXPORTER_UP: 'redis_keda_queue_exporter_up',
} as const;

/** Celery metric names served on `/metrics`. */
export const CeleryMetrics = {
  /** Tasks finished, by `task` and `state` (SUCCESS, FAILURE, REVOKED, REQUEUED). */
  TASKS: 'redis_keda_celery_tasks_total',
  TASK_SECONDS: 'redis_keda_celery_task_seconds',
  /** Tasks held by this process (running or waiting for their eta). */
  TASKS_ACTIVE: 'redis_keda_celery_tasks_active',
  /** Unacknowledged messages this worker put back after their visibility timeout. */
  RESTORED: 'redis_keda_celery_restored_total',
  /** Messages moved to the dead-letter list. */
  DEAD_LETTERED: 'redis_keda_celery_dead_lettered_total',
} as const;

/** Metric names of `cluster consistency-check` (the consistency checker). */
export const ConsistencyMetrics = {
  READS: 'redis_keda_consistency_reads_total',
  /** INCRs acknowledged. */
  WRITES: 'redis_keda_consistency_writes_total',
  FAILED_READS: 'redis_keda_consistency_failed_reads_total',
  /** INCRs that failed or timed out (they may still have been done). */
  FAILED_WRITES: 'redis_keda_consistency_failed_writes_total',
  /** Acknowledged writes a later read did not see: must stay 0 through planned operations. */
  LOST_WRITES: 'redis_keda_consistency_lost_writes_total',
  /** Writes a later read saw whose INCR was not acknowledged. */
  NOT_ACKNOWLEDGED_WRITES: 'redis_keda_consistency_not_acknowledged_writes_total',
  /** Longest time between two successful writes since the start. */
  LONGEST_WRITE_GAP: 'redis_keda_consistency_longest_write_gap_seconds',
} as const;

/** Metric names of `forecaster`, by `workload`. */
export const ForecastMetrics = {
  /** Seconds since the generatedAt of the forecast in Redis (as this replica last read or wrote it). */
  AGE: 'redis_keda_forecast_age_seconds',
  /** The forecast for now (values[0]) and at the lead time (`at`: now, lead). */
  PREDICTED: 'redis_keda_forecast_predicted_value',
  /** The newest sample of the query. */
  ACTUAL: 'redis_keda_forecast_actual_value',
  /** The largest desired replicas over the lead time: what the scaler reports. */
  DESIRED_REPLICAS: 'redis_keda_forecast_desired_replicas',
  /** Mean absolute error over the last hour of the forecasts made `horizon` (60s, 300s) ahead. */
  MODEL_ERROR: 'redis_keda_forecast_model_abs_error',
  /** Failed runs by `stage`: query, model, store, lease. */
  ERRORS: 'redis_keda_forecast_errors_total',
  /** Forecasts written. */
  RUNS: 'redis_keda_forecast_runs_total',
  /** 1 while this replica holds the workload's lease. */
  LEADER: 'redis_keda_forecast_leader',
  /** 1 while the last query failed or returned nothing and the kept forecast is the last good one. */
  DEGRADED: 'redis_keda_forecast_degraded',
} as const;

/** The stages of a forecaster's run, the `stage` of ForecastMetrics.ERRORS. */
export const FORECAST_STAGES = ['query', 'model', 'store', 'lease'] as const;
export type ForecastStage = (typeof FORECAST_STAGES)[number];

/** Metric names of `scaler`, by `method` (IsActive, StreamIsActive, GetMetricSpec, GetMetrics). */
export const ScalerMetrics = {
  /** Calls by `method` and `code` (the gRPC status name: OK, NOT_FOUND, UNAVAILABLE, ...). */
  CALLS: 'redis_keda_scaler_calls_total',
  CALL_SECONDS: 'redis_keda_scaler_call_duration_seconds',
  /** Failed calls by `method` and `reason`: one of {@link ScalerErrorReasons}. */
  ERRORS: 'redis_keda_scaler_errors_total',
} as const;

/** Why a scaler call failed: the `reason` label of ScalerMetrics.ERRORS (every one at 0 from the start). */
export const ScalerErrorReasons = {
  /** The forecast is older than staleAfter (FAILED_PRECONDITION). */
  STALE: 'stale',
  /** No forecast in Redis for the workload (NOT_FOUND). */
  MISSING: 'missing',
  /** The stored value is not a forecast record of the workload (FAILED_PRECONDITION). */
  UNREADABLE: 'unreadable',
  /** The forecast ends before now + leadTime (FAILED_PRECONDITION). */
  HORIZON: 'horizon',
  /** Redis unreachable or failing (UNAVAILABLE). */
  REDIS: 'redis',
  /** The call took longer than the scaler's deadline (DEADLINE_EXCEEDED). */
  DEADLINE: 'deadline',
  /** The trigger metadata is wrong: no or a bad workload, a bad duration, another metric name (INVALID_ARGUMENT). */
  METADATA: 'metadata',
  /** A fault of the scaler itself (INTERNAL). */
  INTERNAL: 'internal',
} as const;

/** Metric names of `demo-app`: the Kedastral example's request counter and latency, by `endpoint`, `method`, `status`. */
export const DemoAppMetrics = {
  REQUESTS: 'api_requests_total',
  REQUEST_SECONDS: 'api_request_duration_seconds',
} as const;

/** Metric names of `loadgen`. */
export const LoadgenMetrics = {
  /** Requests answered with any HTTP status below 500. */
  SENT: 'redis_keda_loadgen_requests_sent_total',
  /** Requests that failed: no connection, a timeout or a status of 500 or more. */
  FAILED: 'redis_keda_loadgen_requests_failed_total',
  /** The requests per second the pattern or trace asks for now (after the rate scale). */
  TARGET_RATE: 'redis_keda_loadgen_target_rate',
} as const;

/** Label names of the metrics above. */
export const MetricLabels = {
  /** Of DEAD_LETTERED: why the event was dead-lettered ({@link DeadLetterReason}). */
  REASON: 'reason',
  /** Of QUEUE_DEPTH: one of {@link QUEUE_STATES}. */
  STATE: 'state',
  /** Of the `queue exporter` series: the ready list's name. */
  LIST: 'list',
  /** Of the Celery TASKS and TASK_SECONDS: the task name. */
  TASK: 'task',
  /** Of the forecaster's series: the workload. */
  WORKLOAD: 'workload',
  /** Of ForecastMetrics.ERRORS: query, model, store, lease. */
  STAGE: 'stage',
  /** Of ForecastMetrics.PREDICTED: `now` or `lead`. */
  AT: 'at',
  /** Of ForecastMetrics.MODEL_ERROR: how far ahead the forecasts were made, `60s` or `300s`. */
  HORIZON: 'horizon',
  /** Of the scaler's series: the gRPC method. */
  METHOD: 'method',
  /** Of ScalerMetrics.CALLS: the gRPC status name. */
  CODE: 'code',
  /** Of DemoAppMetrics: the request path. */
  ENDPOINT: 'endpoint',
  /** Of DemoAppMetrics.REQUESTS: the HTTP status code. */
  STATUS: 'status',
} as const;
