import { App, Chart, ChartProps, Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import {
  AlertRules,
  AppendFsync,
  CeleryProducer,
  CeleryWorker,
  Dashboards,
  DemoApp,
  ExternalScaler,
  Forecaster,
  KedaScaledJob,
  KedaScaledObject,
  LoadGenerator,
  LoadPatternName,
  PrometheusTrigger,
  Publisher,
  QueueExporter,
  QueueWorker,
  RedisCluster,
  RedisConnection,
  RedisQueue,
  GitOpsApp,
  ScalingPolicyType,
  ScalingStrategy,
  SecretKeyRef,
} from './constructs';

/** The Secret every chart expects (key `password`), created by the user before applying: never in dist/. */
function redisAuth(chart: Chart): SecretKeyRef {
  return { secret: kplus.Secret.fromSecretName(chart, 'redis-auth', 'redis-auth'), key: 'password' };
}

/**
 * The "Redis Keda" demo, corrected: events `{"id", "enqueuedAt", "wait"}` pushed in batches of 10
 * every 10 s, one Job per event with the `accurate` scaling strategy, no event lost when a Job dies.
 * Expects the Secret `redis-auth` (key `password`) in namespace `redis-demo`.
 */
export class RedisKedaChart extends Chart {
  public constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, { namespace: 'redis-demo', ...props });
    const password = redisAuth(this);
    const queue = new RedisQueue(this, 'queue', {
      name: 'redis',
      listName: 'events',
      password,
      persistence: { size: Size.gibibytes(1) },
      exporter: { podMonitor: true },
      // Redis open only to this chart's publisher, Jobs, reaper and queue exporter, and to KEDA (namespace keda);
      // its redis_exporter to namespace monitoring.
      networkPolicy: {},
    });
    new Publisher(this, 'publisher', {
      name: 'publisher',
      queue,
      batchSize: 10,
      interval: Duration.seconds(10),
      waitMin: 10,
      waitMax: 20,
    });
    const consumer = new KedaScaledJob(this, 'consumer', {
      name: 'consumer',
      triggers: [queue.listTrigger({ listLength: 1 })],
      container: {
        args: ['consume', '--once'],
        envVariables: queue.envVariables(),
      },
      scalingStrategy: ScalingStrategy.accurate(),
      maxReplicas: 30,
      pollingInterval: Duration.seconds(5),
      // The longest event sleeps 20 s; a Job stuck far past that is killed and its event reaped.
      activeDeadline: Duration.minutes(10),
    });
    // Jobs serve no /metrics: the queue's state comes from the exporter, which runs whether or not a Job does.
    const exporter = new QueueExporter(this, 'queue-exporter', { name: 'queue-exporter', queues: [queue], podMonitor: true });
    const dashboards = new Dashboards(this, 'dashboards');
    dashboards.addJobPerEvent(consumer, { exporter, queue });
    dashboards.addRedis({ queue, exporter });
    const rules = new AlertRules(this, 'alerts', { name: 'redis-keda' });
    rules.addQueue(queue, { exporter, consumers: consumer });
    rules.addRedis(queue);
    rules.addQueueExporter(exporter);
  }
}

/**
 * A worker fleet that loses nothing: loop-mode `redis-keda consume` workers (leases, retries,
 * dead-letter, graceful stop) scaled 0..20 by KEDA on everything the fleet has to do: events
 * waiting, events in flight and retries pending, so scale-in never takes a busy worker.
 * Expects the Secret `redis-auth` (key `password`) in namespace `worker-fleet`.
 */
export class WorkerFleetChart extends Chart {
  public constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, { namespace: 'worker-fleet', ...props });
    const password = redisAuth(this);
    const queue = new RedisQueue(this, 'queue', {
      name: 'redis',
      listName: 'events',
      password,
      persistence: { size: Size.gibibytes(5), appendFsync: AppendFsync.EVERY_SECOND },
      exporter: { podMonitor: true },
      // Redis open only to this chart's publisher, workers and queue exporter and to KEDA; its redis_exporter to namespace monitoring.
      networkPolicy: {},
    });
    new Publisher(this, 'publisher', { name: 'publisher', queue, batchSize: 50, interval: Duration.seconds(5), waitMin: 1, waitMax: 5 });
    const worker = new QueueWorker(this, 'worker', {
      name: 'worker',
      queue,
      concurrency: 10,
      grace: Duration.seconds(30),
      podMonitor: true,
    });
    const scaler = new KedaScaledObject(this, 'worker-scaler', {
      name: 'worker',
      target: worker.deployment,
      triggers: worker.scalingTriggers({ eventsPerReplica: 20 }),
      minReplicas: 0,
      maxReplicas: 20,
      pollingInterval: Duration.seconds(5),
      cooldown: Duration.seconds(120),
      // Shrink slowly: at most 2 pods a minute, on the highest recommendation of the last 5 minutes.
      scaleDown: {
        stabilizationWindow: Duration.minutes(5),
        policies: [{ type: ScalingPolicyType.PODS, value: 2, period: Duration.minutes(1) }],
      },
      // If Redis cannot be read, keep a small fleet rather than freezing at whatever size it had.
      fallback: { failureThreshold: 3, replicas: 2 },
    });
    const exporter = new QueueExporter(this, 'queue-exporter', { name: 'queue-exporter', queues: [queue], podMonitor: true });
    observeQueueFleet(this, { queue, worker, scaler, exporter });
  }
}

/**
 * Dashboards (the fleet, Redis and the exporter) and alert rules (backlog, oldest event, dead letters, fleet at
 * max, Redis, exporter) for a queue fleet scaled by a ScaledObject: what worker-fleet and event-driven share.
 */
function observeQueueFleet(chart: Chart, parts: { queue: RedisQueue; worker: QueueWorker; scaler: KedaScaledObject; exporter: QueueExporter }): void {
  const { queue, worker, scaler, exporter } = parts;
  const dashboards = new Dashboards(chart, 'dashboards');
  dashboards.addQueueFleet(worker, { scaler, exporter });
  dashboards.addRedis({ queue, exporter });
  const rules = new AlertRules(chart, 'alerts', { name: chart.node.id });
  rules.addQueue(queue, { exporter, consumers: worker, scaler });
  rules.addRedis(queue);
  rules.addQueueExporter(exporter);
}

/** A setting given at synth: the cdk8s context key, else the environment variable (empty counts as unset). */
function synthSetting(scope: Construct, contextKey: string, env: string): string | undefined {
  return scope.node.tryGetContext(contextKey) ?? (process.env[env] || undefined);
}

/** cdk8s context key (else env var at synth) with the host of the celery-worker chart's external Redis. */
export const CELERY_REDIS_HOST_CONTEXT_KEY = 'celery-worker:redis-host';
export const CELERY_REDIS_HOST_ENV = 'CELERY_REDIS_HOST';
/** cdk8s context key (else env var at synth) naming a Secret whose key `ca.crt` holds the server's PEM CA bundle. */
export const CELERY_REDIS_CA_SECRET_CONTEXT_KEY = 'celery-worker:redis-ca-secret';
export const CELERY_REDIS_CA_SECRET_ENV = 'CELERY_REDIS_CA_SECRET';
/** A host that can never resolve (RFC 2606 `.invalid`): set the real one before deploying. */
export const CELERY_REDIS_HOST_PLACEHOLDER = 'change-me.redis.invalid';

/**
 * The "Celery + KEDA" demo, corrected: Celery-protocol workers on an external Redis (a managed
 * cache over TLS on port 6380) scaled 0..10 by KEDA on the `celery` list (10 tasks per pod,
 * polling 15 s, cooldown 200 s, as the original), plus its priority lists and the `unacked` hash,
 * so scale-in never strands tasks that workers hold; a producer sends one `users.register` a second.
 * Expects the Secret `redis-auth` (key `password`) in namespace `celery-worker`, and the Redis host
 * in the context key `celery-worker:redis-host` (or CELERY_REDIS_HOST at synth).
 */
export class CeleryWorkerChart extends Chart {
  public constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, { namespace: 'celery-worker', ...props });
    const caSecret = synthSetting(this, CELERY_REDIS_CA_SECRET_CONTEXT_KEY, CELERY_REDIS_CA_SECRET_ENV);
    const connection = RedisConnection.external(this, {
      name: 'redis',
      host: synthSetting(this, CELERY_REDIS_HOST_CONTEXT_KEY, CELERY_REDIS_HOST_ENV) ?? CELERY_REDIS_HOST_PLACEHOLDER,
      port: 6380,
      tls: true,
      password: redisAuth(this),
      tlsCa: caSecret ? { secret: kplus.Secret.fromSecretName(this, 'redis-ca', caSecret), key: 'ca.crt' } : undefined,
    });
    const worker = new CeleryWorker(this, 'worker', {
      name: 'celery-worker',
      connection,
      queues: ['celery'],
      concurrency: 4,
      grace: Duration.seconds(30),
      podMonitor: true,
    });
    const scaler = new KedaScaledObject(this, 'worker-scaler', {
      name: 'celery-worker',
      target: worker.deployment,
      triggers: worker.scalingTriggers({ tasksPerReplica: 10 }),
      minReplicas: 0,
      maxReplicas: 10,
      pollingInterval: Duration.seconds(15),
      cooldown: Duration.seconds(200),
      // Shrink slowly: at most 2 pods a minute, on the highest recommendation of the last 5 minutes.
      scaleDown: {
        stabilizationWindow: Duration.minutes(5),
        policies: [{ type: ScalingPolicyType.PODS, value: 2, period: Duration.minutes(1) }],
      },
    });
    new CeleryProducer(this, 'producer', { name: 'producer', connection, queue: 'celery', interval: Duration.seconds(1) });
    // The Redis is external (a managed cache): its own monitoring watches it, not this chart.
    new Dashboards(this, 'dashboards').addCelery(worker, { scaler });
    new AlertRules(this, 'alerts', { name: 'celery-worker' }).addCeleryWorker(worker);
  }
}

/** cdk8s context key (else env var at synth) with the URL KEDA queries Prometheus at, in the event-driven chart. */
export const EVENT_DRIVEN_PROMETHEUS_CONTEXT_KEY = 'event-driven:prometheus-url';
export const EVENT_DRIVEN_PROMETHEUS_ENV = 'EVENT_DRIVEN_PROMETHEUS_URL';
/** The Service the Prometheus Operator creates for every Prometheus (kube-prometheus-stack installs into `monitoring`). */
export const EVENT_DRIVEN_PROMETHEUS_DEFAULT = 'http://prometheus-operated.monitoring.svc:9090';

/**
 * The "scalable event-driven system with KEDA" demo on Redis, corrected: a producer whose rate lives in a
 * ConfigMap and is followed live (no restart), a queue exporter whose series exist at zero consumers, and
 * consumers that acknowledge after processing, scaled 0..10 by a KEDA `prometheus` trigger on the events
 * waiting or in flight. The original's demo values: threshold 10, polling 5 s, cooldown 30 s, 0..10
 * replicas. For production, see docs/producer-and-exporter.md: poll every 15-30 s, cool down over
 * minutes (300 s), shrink slowly (a 5-minute stabilization window), and keep the threshold equal to a
 * pod's concurrency so a replica is added per full pod.
 * Expects the Secret `redis-auth` (key `password`) in namespace `event-driven`; Prometheus at the context
 * key `event-driven:prometheus-url` (or EVENT_DRIVEN_PROMETHEUS_URL at synth), else the Prometheus
 * Operator's `prometheus-operated` Service in namespace `monitoring`.
 */
export class EventDrivenChart extends Chart {
  public constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, { namespace: 'event-driven', ...props });
    const prometheusUrl = synthSetting(this, EVENT_DRIVEN_PROMETHEUS_CONTEXT_KEY, EVENT_DRIVEN_PROMETHEUS_ENV) ?? EVENT_DRIVEN_PROMETHEUS_DEFAULT;
    const password = redisAuth(this);
    const queue = new RedisQueue(this, 'queue', {
      name: 'redis',
      listName: 'events',
      password,
      persistence: { size: Size.gibibytes(5), appendFsync: AppendFsync.EVERY_SECOND },
      exporter: { podMonitor: true },
      // Redis open only to this chart's producer, queue exporter and consumers and to KEDA; its redis_exporter to namespace monitoring.
      networkPolicy: {},
    });
    // 10 events a second to start; `kubectl -n event-driven edit configmap producer-rate` changes it live.
    new Publisher(this, 'producer', { name: 'producer', queue, rate: 10, batchSize: 1, rateConfigMap: {}, waitMin: 1, waitMax: 3, podMonitor: true });
    const exporter = new QueueExporter(this, 'queue-exporter', { name: 'queue-exporter', queues: [queue], podMonitor: true });
    const consumer = new QueueWorker(this, 'consumer', { name: 'consumer', queue, concurrency: 10, grace: Duration.seconds(30), podMonitor: true });
    const scaler = new KedaScaledObject(this, 'consumer-scaler', {
      name: 'consumer',
      target: consumer.deployment,
      // One replica per 10 events waiting or in flight: a full pod (concurrency 10).
      triggers: [exporter.pendingTrigger(this, 'pending', { serverAddress: prometheusUrl, threshold: 10 })],
      minReplicas: 0,
      maxReplicas: 10,
      pollingInterval: Duration.seconds(5),
      cooldown: Duration.seconds(30),
    });
    observeQueueFleet(this, { queue, worker: consumer, scaler, exporter });
  }
}

/**
 * "Redis clustering in Kubernetes", corrected: the original's 3 masters on 1Gi AOF volumes with
 * redis_exporter and a PodMonitor, plus a replica per master, a PodDisruptionBudget, spread over
 * nodes, probes that work with AUTH, and `redis-keda cluster` for the operations (the create Job
 * grows the StatefulSet and creates the cluster; scale and upgrade own replicas and partition, so
 * a GitOps sync never reverts them), operation templates run on demand, a consistency checker
 * Deployment, a dashboard and alert rules. Expects the Secret `redis-auth` (key `password`) in
 * namespace `redis-cluster`.
 */
export class RedisClusterChart extends Chart {
  public constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, { namespace: 'redis-cluster', ...props });
    const cluster = new RedisCluster(this, 'cluster', {
      name: 'redis',
      masters: 3,
      replicasPerMaster: 1,
      password: redisAuth(this),
      persistence: { size: Size.gibibytes(1), appendFsync: AppendFsync.EVERY_SECOND },
      exporter: { podMonitor: true },
      // The Role may delete the claims of up to 5 masters' pods: room to scale out and back. Beside the create Job,
      // suspended CronJobs redis-check, -fix, -reconcile, -rebalance, -scale and -upgrade: run one with
      // `kubectl create job --from=cronjob/redis-check <run>` (docs/redis-cluster.md).
      operations: { maxMasters: 5 },
      networkPolicy: {},
      // The original's checker slept an hour; this one counts lost and not-acknowledged writes on /metrics, scraped.
      consistencyChecker: { keys: 1000, rate: 100 },
    });
    // Node down, memory near maxmemory, cluster_state fail, slots not covered.
    new AlertRules(this, 'alerts', { name: 'redis-cluster' }).addRedis(cluster);
    new Dashboards(this, 'dashboards').addRedisCluster(cluster);
  }
}

/** cdk8s context key (else env var at synth) with the URL of the Prometheus the multi-app-redis forecaster and KEDA query. */
export const MULTI_APP_PROMETHEUS_CONTEXT_KEY = 'multi-app-redis:prometheus-url';
export const MULTI_APP_PROMETHEUS_ENV = 'MULTI_APP_PROMETHEUS_URL';

/** The two apps of the Kedastral multi-app example: their load, what one pod serves, the headroom and the largest fleet. */
const MULTI_APPS: readonly { name: string; pattern: LoadPatternName; targetPerPod: number; headroom: number; maxReplicas: number; fallbackReplicas: number }[] = [
  { name: 'api', pattern: 'hourly-spike', targetPerPod: 50, headroom: 1.2, maxReplicas: 20, fallbackReplicas: 4 },
  { name: 'worker', pattern: 'business-hours', targetPerPod: 40, headroom: 1.3, maxReplicas: 15, fallbackReplicas: 3 },
];

/**
 * The "Kedastral multi-app Redis" example, corrected: two demo apps (an API with half-hourly spikes, a worker with
 * business hours) under their load generators, one Forecaster writing both workloads' forecasts to Redis, one shared
 * ExternalScaler answering KEDA from Redis (never from the forecaster over HTTP; a forecast older than 2 minutes is
 * a gRPC error, so KEDA's fallback applies), and per app a ScaledObject with the external trigger (lead time 5
 * minutes, configured once per workload) plus a reactive Prometheus trigger on the same request rate: KEDA takes
 * the highest, so the forecast alone never scales an app in below what its load needs now.
 * Expects the Secret `redis-auth` (key `password`) in namespace `multi-app-redis`; Prometheus at the context key
 * `multi-app-redis:prometheus-url` (or MULTI_APP_PROMETHEUS_URL at synth), else the Prometheus Operator's
 * `prometheus-operated` Service in namespace `monitoring`.
 */
export class MultiAppRedisChart extends Chart {
  public constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, { namespace: 'multi-app-redis', ...props });
    const prometheusUrl = synthSetting(this, MULTI_APP_PROMETHEUS_CONTEXT_KEY, MULTI_APP_PROMETHEUS_ENV) ?? EVENT_DRIVEN_PROMETHEUS_DEFAULT;
    // The forecasts live in Redis with a TTL and are rewritten every 30 s: nothing to persist.
    const redis = new RedisQueue(this, 'redis', { name: 'redis', password: redisAuth(this), exporter: { podMonitor: true }, networkPolicy: {} });
    const forecaster = new Forecaster(this, 'forecaster', { name: 'forecaster', prometheus: prometheusUrl, redis, podMonitor: true });
    const scaler = new ExternalScaler(this, 'scaler', { name: 'forecast-scaler', redis, podMonitor: true });
    const scaledObjects: KedaScaledObject[] = [];
    for (const spec of MULTI_APPS) {
      const app = new DemoApp(this, spec.name, { name: spec.name, podMonitor: true });
      new LoadGenerator(this, `${spec.name}-loadgen`, { name: `${spec.name}-loadgen`, target: app, pattern: spec.pattern, podMonitor: true });
      const query = app.requestRateQuery();
      const workload = forecaster.addWorkload({
        name: spec.name,
        query,
        targetPerPod: spec.targetPerPod,
        headroom: spec.headroom,
        minReplicas: 2,
        maxReplicas: spec.maxReplicas,
        leadTime: Duration.minutes(5),
        staleAfter: Duration.minutes(2),
      });
      // The load now, one pod per targetPerPod requests a second: the floor under the forecast.
      const reactive = new PrometheusTrigger(this, `${spec.name}-reactive`, { name: 'reactive', serverAddress: prometheusUrl, query, threshold: spec.targetPerPod });
      const scaled = new KedaScaledObject(this, `${spec.name}-scaler`, {
        name: spec.name,
        target: app.deployment,
        triggers: [forecaster.trigger({ workload, scaler }), reactive],
        minReplicas: 2,
        maxReplicas: spec.maxReplicas,
        // A forecast missing or stale for 3 polls: hold this many replicas for it (the reactive trigger still counts).
        fallback: { failureThreshold: 3, replicas: spec.fallbackReplicas },
      });
      scaledObjects.push(scaled);
    }
    const dashboards = new Dashboards(this, 'dashboards');
    dashboards.addForecast(forecaster, { scaler, scaledObjects });
    dashboards.addRedis({ queue: redis });
    const rules = new AlertRules(this, 'alerts', { name: 'multi-app-redis' });
    rules.addForecaster(forecaster);
    rules.addExternalScaler(scaler);
    rules.addRedis(redis);
  }
}

/** Every demo chart of the app, by folder name in dist/. */
export function buildApp(app: App): App {
  new RedisKedaChart(app, 'redis-keda');
  new WorkerFleetChart(app, 'worker-fleet');
  new CeleryWorkerChart(app, 'celery-worker');
  new EventDrivenChart(app, 'event-driven');
  new RedisClusterChart(app, 'redis-cluster');
  new MultiAppRedisChart(app, 'multi-app-redis');
  return app;
}

if (require.main === module) {
  // One folder per chart with its kustomization.yaml: what dist/ holds.
  buildApp(new GitOpsApp()).synth();
}
