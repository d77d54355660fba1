/**
 * Defaults of the queue programs that the constructs repeat in their props (a construct's default must be the
 * program's, so a prop left out and a flag left out mean the same).
 */

/** Default lease: long enough for the demo's 20 s events; renewed every third of it. */
export const DEFAULT_LEASE_SECONDS = 60;

/** Seconds a consumer finishes in-flight events after SIGTERM; pods get this plus {@link TERMINATION_MARGIN_SECONDS}. */
export const DEFAULT_GRACE_SECONDS = 30;
/** What a pod's terminationGracePeriodSeconds adds to the consumer's grace: time to hand work back and exit. */
export const TERMINATION_MARGIN_SECONDS = 10;
/** Handler failures before an event is dead-lettered. */
export const DEFAULT_MAX_ATTEMPTS = 5;
/** Deliveries (crash redeliveries included) before an event is dead-lettered. */
export const DEFAULT_MAX_DELIVERIES = 10;
/** First retry delay; doubles per failure up to {@link DEFAULT_BACKOFF_MAX_SECONDS}. */
export const DEFAULT_BACKOFF_SECONDS = 1;
/** The longest retry delay. */
export const DEFAULT_BACKOFF_MAX_SECONDS = 300;
/** Events a loop-mode consumer handles at the same time. */
export const DEFAULT_CONSUME_CONCURRENCY = 1;

/** The demo publisher's batches: events per LPUSH, seconds between batches, the range of each event's `wait`. */
export const PUBLISH_DEFAULTS = { batch: 10, intervalSeconds: 10, waitMin: 10, waitMax: 20 } as const;

/** How often the publisher re-reads its rate file besides watching its directory (a safety net for missed events). */
export const RATE_FILE_POLL_SECONDS = 1;
/** Seconds one `queue exporter` scrape waits for Redis. */
export const DEFAULT_EXPORTER_SCRAPE_TIMEOUT_SECONDS = 2;
/** The largest publish rate (events per second): beyond it one LPUSH per event cannot keep up anyway; raise the batch instead. */
export const MAX_PUBLISH_RATE = 1_000_000;

/** Replicas per master of a Redis Cluster: one, so a master's failure loses no shard. */
export const DEFAULT_CLUSTER_REPLICAS_PER_MASTER = 1;
/** Seconds a cluster operation waits for the nodes to agree (gossip, failover, sync). */
export const DEFAULT_CLUSTER_TIMEOUT_SECONDS = 60;
/** Fewest masters `cluster create` makes: a failover needs a majority of masters. */
export const MIN_CLUSTER_MASTERS = 3;
/** The consistency checker's defaults: keys spread over every slot range, a write rate a small cluster takes in passing. */
export const CONSISTENCY_DEFAULTS = { keys: 1000, keyPrefix: 'redis-keda:consistency:', rate: 500 } as const;

/** Seconds after its generatedAt at which a forecast is stale (the key's TTL, the scaler's refusal), unless a workload says otherwise. */
export const DEFAULT_FORECAST_STALE_AFTER_SECONDS = 120;
/** Milliseconds the scaler gives one gRPC call before it answers DEADLINE_EXCEEDED (KEDA sets no deadline). */
export const DEFAULT_SCALER_DEADLINE_MS = 2000;
/** Seconds between two forecasts of a workload. */
export const DEFAULT_FORECAST_INTERVAL_SECONDS = 30;
