/** Names of the environment variables the runtime reads; each CLI option falls back to one of these. */
export const Env = {
  /** A full `redis://` or `rediss://` URL; wins over the host / port variables. */
  REDIS_URL: 'REDIS_URL',
  REDIS_HOST: 'REDIS_HOST',
  REDIS_PORT: 'REDIS_PORT',
  REDIS_USERNAME: 'REDIS_USERNAME',
  REDIS_PASSWORD: 'REDIS_PASSWORD',
  /** `true` to connect with TLS. */
  REDIS_TLS: 'REDIS_TLS',
  /** Path of a PEM CA bundle to verify the server with (TLS only). */
  REDIS_TLS_CA_FILE: 'REDIS_TLS_CA_FILE',
  /** A PEM CA bundle itself (e.g. from a Secret key); implies TLS. REDIS_TLS_CA_FILE wins when both are set. */
  REDIS_TLS_CA: 'REDIS_TLS_CA',
  REDIS_DB: 'REDIS_DB',
  /** Seconds a command waits for Redis at start before it gives up (exit 1). */
  REDIS_CONNECT_TIMEOUT: 'REDIS_CONNECT_TIMEOUT',
  /**
   * Seed nodes of a Redis Cluster, `host:port,host:port,...`: the queue's programs connect as a
   * cluster client (credentials and TLS from the variables above; host, port and db unused).
   */
  REDIS_CLUSTER_NODES: 'REDIS_CLUSTER_NODES',
  LIST_NAME: 'LIST_NAME',
  // publish
  PUBLISH_COUNT: 'PUBLISH_COUNT',
  PUBLISH_FOREVER: 'PUBLISH_FOREVER',
  PUBLISH_BATCH: 'PUBLISH_BATCH',
  /** Seconds between batches. */
  PUBLISH_INTERVAL: 'PUBLISH_INTERVAL',
  /** Events per second; paced on absolute deadlines (replaces PUBLISH_INTERVAL). */
  PUBLISH_RATE: 'PUBLISH_RATE',
  /** Path of a file whose content is the rate (events per second), followed live (a mounted ConfigMap key). */
  PUBLISH_RATE_FILE: 'PUBLISH_RATE_FILE',
  WAIT_MIN: 'WAIT_MIN',
  WAIT_MAX: 'WAIT_MAX',
  // queue exporter
  /** Comma-separated lists whose state `queue exporter` serves. */
  EXPORTER_LISTS: 'EXPORTER_LISTS',
  /** Seconds one scrape waits for Redis before it reports the exporter down. */
  EXPORTER_SCRAPE_TIMEOUT: 'EXPORTER_SCRAPE_TIMEOUT',
  // consume
  /** `true` for Job mode: take one event, handle it, exit. */
  CONSUME_ONCE: 'CONSUME_ONCE',
  /** Events a loop-mode consumer handles at the same time. */
  CONSUME_CONCURRENCY: 'CONSUME_CONCURRENCY',
  /** Lease length in seconds; the consumer renews it while it works. */
  LEASE_SECONDS: 'LEASE_SECONDS',
  SLEEP_SCALE: 'SLEEP_SCALE',
  HANDLER: 'HANDLER',
  /** File the Job-mode consumer writes once it holds its event (the readiness signal). */
  READY_FILE: 'READY_FILE',
  /** Handler failures before an event is dead-lettered (retries back off exponentially). */
  MAX_ATTEMPTS: 'MAX_ATTEMPTS',
  /** Deliveries (claims, including redeliveries after crashed consumers) before an event is dead-lettered. */
  MAX_DELIVERIES: 'MAX_DELIVERIES',
  /** First retry delay in seconds; doubles per attempt up to BACKOFF_MAX_SECONDS. */
  BACKOFF_SECONDS: 'BACKOFF_SECONDS',
  BACKOFF_MAX_SECONDS: 'BACKOFF_MAX_SECONDS',
  /** Seconds a consumer keeps working on events in hand after SIGTERM before handing them back. */
  GRACE_SECONDS: 'GRACE_SECONDS',
  // celery-worker
  /** Comma-separated Celery queues (Redis lists) to consume, e.g. `celery`. */
  CELERY_QUEUES: 'CELERY_QUEUES',
  /** Tasks run at the same time by one worker process. */
  CELERY_CONCURRENCY: 'CELERY_CONCURRENCY',
  /** Path of a user module registering more task handlers (`--tasks`). */
  CELERY_TASKS: 'CELERY_TASKS',
  /** What to do with a task no handler knows: `fail` (store FAILURE) or `requeue` (for a mixed fleet). */
  CELERY_UNKNOWN_TASK: 'CELERY_UNKNOWN_TASK',
  /** Seconds after which an unacknowledged task is restored to its queue (kombu's `visibility_timeout`). */
  CELERY_VISIBILITY_TIMEOUT: 'CELERY_VISIBILITY_TIMEOUT',
  /** Seconds a stored result lives (Celery's `result_expires`). */
  CELERY_RESULT_EXPIRES: 'CELERY_RESULT_EXPIRES',
  /** The worker's name in results and logs (Celery's `hostname`, e.g. `redis-keda@<pod>`). */
  CELERY_HOSTNAME: 'CELERY_HOSTNAME',
  // celery-send
  /** Queue (Redis list) celery-send pushes to. */
  CELERY_QUEUE: 'CELERY_QUEUE',
  /** Task name celery-send sends. */
  CELERY_TASK: 'CELERY_TASK',
  /** Seconds between tasks sent by `celery-send --forever`. */
  CELERY_SEND_INTERVAL: 'CELERY_SEND_INTERVAL',
  /** Tasks celery-send sends (unless forever). */
  CELERY_SEND_COUNT: 'CELERY_SEND_COUNT',
  /** `true`: celery-send sends until stopped. */
  CELERY_SEND_FOREVER: 'CELERY_SEND_FOREVER',
  /** Positional arguments, a JSON array. */
  CELERY_ARGS: 'CELERY_ARGS',
  /** Keyword arguments, a JSON object. */
  CELERY_KWARGS: 'CELERY_KWARGS',
  /** Seconds from sending to the task's eta. */
  CELERY_COUNTDOWN: 'CELERY_COUNTDOWN',
  /** The task's eta, ISO 8601. */
  CELERY_ETA: 'CELERY_ETA',
  /** Seconds from sending until the task expires. */
  CELERY_EXPIRES: 'CELERY_EXPIRES',
  /** kombu priority 0..9. */
  CELERY_PRIORITY: 'CELERY_PRIORITY',
  /** `true`: wait for each result and print it. */
  CELERY_WAIT: 'CELERY_WAIT',
  /** Seconds to wait for each result. */
  CELERY_WAIT_TIMEOUT: 'CELERY_WAIT_TIMEOUT',
  /** The task's hard time limit in seconds (Celery's time_limit). */
  CELERY_TIME_LIMIT: 'CELERY_TIME_LIMIT',
  /** The task's soft time limit in seconds (Celery's soft_time_limit). */
  CELERY_SOFT_TIME_LIMIT: 'CELERY_SOFT_TIME_LIMIT',
  // cluster
  /** The cluster's nodes in address mode: `host:port,host:port,...`. */
  CLUSTER_NODES: 'CLUSTER_NODES',
  /** Replicas each master gets (create) or must have (check). */
  CLUSTER_REPLICAS_PER_MASTER: 'CLUSTER_REPLICAS_PER_MASTER',
  /** Seconds a cluster operation waits for the nodes to agree before it fails. */
  CLUSTER_TIMEOUT: 'CLUSTER_TIMEOUT',
  /** Kubernetes mode: the StatefulSet whose pods are the cluster's nodes. */
  CLUSTER_STATEFULSET: 'CLUSTER_STATEFULSET',
  /** Kubernetes mode: the StatefulSet's namespace (default: the kubeconfig context's, or the pod's own). */
  CLUSTER_NAMESPACE: 'CLUSTER_NAMESPACE',
  /** Kubernetes mode: `dns` (`<pod>.<headless service>.<namespace>.svc`) or `pod-ip`. */
  CLUSTER_NODE_ADDRESSING: 'CLUSTER_NODE_ADDRESSING',
  /** Kubernetes mode: a kubeconfig file; without it, the pod's service account (in-cluster config). */
  KUBECONFIG: 'KUBECONFIG',
  /** Keys the consistency checker INCRs. */
  CONSISTENCY_KEYS: 'CONSISTENCY_KEYS',
  /** Prefix of the consistency checker's keys. */
  CONSISTENCY_KEY_PREFIX: 'CONSISTENCY_KEY_PREFIX',
  /** Writes per second of the consistency checker. */
  CONSISTENCY_RATE: 'CONSISTENCY_RATE',
  /** Seconds the consistency checker runs before it exits (1 when a write was lost); unset: until SIGTERM. */
  CONSISTENCY_DURATION: 'CONSISTENCY_DURATION',
  /** `cluster exec`: the ordinals (indexes of the node list) to run the command on, `0,1,2`. */
  CLUSTER_EXEC_ORDINALS: 'CLUSTER_EXEC_ORDINALS',
  /** rebalance: master weights, `host:port=weight,...`. */
  CLUSTER_WEIGHTS: 'CLUSTER_WEIGHTS',
  /** rebalance: whether masters serving no slots get a share. */
  CLUSTER_USE_EMPTY_MASTERS: 'CLUSTER_USE_EMPTY_MASTERS',
  /** rebalance, scale, fix: keys per MIGRATE command. */
  CLUSTER_MIGRATE_KEYS: 'CLUSTER_MIGRATE_KEYS',
  /** rebalance, scale, fix: MIGRATE commands in flight per source node. */
  CLUSTER_MIGRATE_PIPELINE: 'CLUSTER_MIGRATE_PIPELINE',
  /** rebalance, scale, fix: slots of one source moved per round trip. */
  CLUSTER_MIGRATE_SLOTS: 'CLUSTER_MIGRATE_SLOTS',
  /** scale: a node of the current cluster, when no node of the desired membership is a member yet. */
  CLUSTER_SEED: 'CLUSTER_SEED',
  /** scale in Kubernetes mode: the masters wanted (the StatefulSet gets masters x (1 + replicas per master) pods). */
  CLUSTER_MASTERS: 'CLUSTER_MASTERS',
  // forecasting
  /** Prometheus' base URL (forecaster). */
  PROMETHEUS_URL: 'PROMETHEUS_URL',
  /** The forecaster's config file ({@link ForecasterConfig}); without it, the FORECAST_* flags describe one workload. */
  FORECAST_CONFIG: 'FORECAST_CONFIG',
  FORECAST_WORKLOAD: 'FORECAST_WORKLOAD',
  FORECAST_QUERY: 'FORECAST_QUERY',
  FORECAST_TARGET_PER_POD: 'FORECAST_TARGET_PER_POD',
  FORECAST_MIN_REPLICAS: 'FORECAST_MIN_REPLICAS',
  FORECAST_MAX_REPLICAS: 'FORECAST_MAX_REPLICAS',
  FORECAST_LEAD_TIME: 'FORECAST_LEAD_TIME',
  FORECAST_INTERVAL: 'FORECAST_INTERVAL',
  FORECAST_STEP: 'FORECAST_STEP',
  FORECAST_WINDOW: 'FORECAST_WINDOW',
  FORECAST_HORIZON: 'FORECAST_HORIZON',
  FORECAST_STALE_AFTER: 'FORECAST_STALE_AFTER',
  FORECAST_HEADROOM: 'FORECAST_HEADROOM',
  FORECAST_QUANTILE: 'FORECAST_QUANTILE',
  /** Other options of the capacity planner for the one workload of the flags, a JSON object (the config file's `model`). */
  FORECAST_MODEL: 'FORECAST_MODEL',
  /** The scaler's gRPC port. */
  SCALER_PORT: 'SCALER_PORT',
  /** Milliseconds the scaler gives one call (KEDA sets no deadline) before it answers DEADLINE_EXCEEDED. */
  SCALER_DEADLINE: 'SCALER_DEADLINE',
  /** The scaler's default staleAfter (seconds) when the trigger metadata gives none. */
  SCALER_STALE_AFTER: 'SCALER_STALE_AFTER',
  /** A folder with tls.crt, tls.key (and ca.crt to require client certificates): the scaler serves TLS. */
  SCALER_TLS_DIR: 'SCALER_TLS_DIR',
  /** Seconds between two checks of a StreamIsActive call (it sends only changes). */
  SCALER_STREAM_INTERVAL: 'SCALER_STREAM_INTERVAL',
  /** Milliseconds the scaler reuses a workload's forecast read from Redis (0: read on every call); staleness is checked on every call. */
  SCALER_CACHE_TTL: 'SCALER_CACHE_TTL',
  // demo-app
  /** Port on which `demo-app` answers the example's requests (its /metrics stays on METRICS_PORT). */
  DEMO_APP_PORT: 'DEMO_APP_PORT',
  /** Milliseconds `demo-app` waits before answering a request (the work it stands for). */
  DEMO_APP_LATENCY: 'DEMO_APP_LATENCY',
  // loadgen
  /** The base URL `loadgen` sends requests to, e.g. `http://api:8080`. */
  LOADGEN_TARGET_URL: 'LOADGEN_TARGET_URL',
  /** The request path, appended to the target URL. */
  LOADGEN_PATH: 'LOADGEN_PATH',
  /** One of LOAD_PATTERNS (hourly-spike, business-hours, sine-wave, double-peak); not with LOADGEN_TRACE_FILE. */
  LOADGEN_PATTERN: 'LOADGEN_PATTERN',
  /** A `ts,value` CSV (unix seconds, requests per second) replayed in a loop; not with LOADGEN_PATTERN. */
  LOADGEN_TRACE_FILE: 'LOADGEN_TRACE_FILE',
  /** Pattern seconds per wall-clock second (60: a pattern hour in a minute); 1 follows the wall clock. */
  LOADGEN_TIME_SCALE: 'LOADGEN_TIME_SCALE',
  /** Factor on the pattern's or trace's rate (requests per second sent = value x this). */
  LOADGEN_RATE_SCALE: 'LOADGEN_RATE_SCALE',
  /** Where the pattern clock starts, ISO 8601 (default: now; a trace starts at its first row). */
  LOADGEN_START: 'LOADGEN_START',
  /** Seconds `loadgen` runs before it prints its counts and exits 0; unset: until SIGTERM. */
  LOADGEN_DURATION: 'LOADGEN_DURATION',
  /** Milliseconds one request may take before it counts as failed. */
  LOADGEN_TIMEOUT: 'LOADGEN_TIMEOUT',
  /** The pod's name (downward API); used in worker names. */
  POD_NAME: 'POD_NAME',
  // long-running commands
  METRICS_PORT: 'METRICS_PORT',
  LOG_LEVEL: 'LOG_LEVEL',
  /** `json` (pods, pipes) or `text` (a person at a terminal); default: text when stderr is a terminal. */
  LOG_FORMAT: 'LOG_FORMAT',
} as const;
