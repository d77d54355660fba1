/**
 * The command line of `redis-keda`: the subcommands and the few options the constructs write into containers'
 * args (everything else they set through {@link Env}). The runtime's command modules are named by these, so a
 * renamed command or option changes both halves at once.
 */

/** The subcommands of `redis-keda`. */
export const Commands = {
  PUBLISH: 'publish',
  CONSUME: 'consume',
  QUEUE: 'queue',
  CELERY_WORKER: 'celery-worker',
  CELERY_SEND: 'celery-send',
  CLUSTER: 'cluster',
  /** Forecasts workloads from Prometheus into Redis (the Forecaster Deployment). */
  FORECASTER: 'forecaster',
  /** KEDA's external scaler over gRPC, answering from the forecasts in Redis (the ExternalScaler Deployment). */
  SCALER: 'scaler',
  /** Generates HTTP load by a pattern or a trace against a demo app. */
  LOADGEN: 'loadgen',
  /** A demo app: serves HTTP requests and counts them for Prometheus. */
  DEMO_APP: 'demo-app',
} as const;

/** The subcommands of `redis-keda queue`. */
export const QueueCommands = {
  STATS: 'stats',
  /** Requeues expired leases and due retries (the reaper CronJob). */
  REAP: 'reap',
  PEEK_DEAD: 'peek-dead',
  REDRIVE: 'redrive',
  PURGE: 'purge',
  /** Serves every list's depth by state and oldest ready age on `/metrics` (the QueueExporter Deployment). */
  EXPORTER: 'exporter',
} as const;

/** The subcommands of `redis-keda cluster`. */
export const ClusterCommands = {
  /** Joins the listed nodes into a cluster: MEET, slots, replicas (the create Job). */
  CREATE: 'create',
  /** Reports slot coverage, open slots, failed nodes and replicas as JSON; exit 1 when not ok. */
  CHECK: 'check',
  /** Clears open slots no key has moved for and assigns uncovered slots; prints what it did and the check after. */
  FIX: 'fix',
  /** INCRs and reads back many keys until stopped (or for --duration), counting lost and not-acknowledged writes (the checker Deployment). */
  CONSISTENCY_CHECK: 'consistency-check',
  /** Brings membership and replicas to the listed nodes where no data moves: MEET, FORGET, REPLICATE. */
  RECONCILE: 'reconcile',
  /** Runs one command on the nodes of the given ordinals and prints every reply. */
  EXEC: 'exec',
  /** Moves slots (with their keys) so every master serves its share. */
  REBALANCE: 'rebalance',
  /** Brings the membership to the listed nodes: joins new ones, rebalances, drains and removes the others. */
  SCALE: 'scale',
  /** Kubernetes mode: restarts the pods not on the StatefulSet's update revision one by one, highest ordinal first, a master failed over first. */
  UPGRADE: 'upgrade',
} as const;

/** Options the constructs pass as flags. */
export const Options = {
  /** `consume --once`: Job mode. */
  ONCE: 'once',
  /** `publish --forever`, `celery-send --forever`: run until SIGTERM. */
  FOREVER: 'forever',
  /** `consume --handler <module>`. */
  HANDLER: 'handler',
} as const;

/** The command-line spelling of an option: `--forever`. */
export function flag(option: (typeof Options)[keyof typeof Options]): string {
  return `--${option}`;
}
