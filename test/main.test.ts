import { Testing } from 'cdk8s';
import {
  buildApp,
  CELERY_REDIS_CA_SECRET_CONTEXT_KEY,
  CELERY_REDIS_HOST_CONTEXT_KEY,
  CELERY_REDIS_HOST_PLACEHOLDER,
  EVENT_DRIVEN_PROMETHEUS_CONTEXT_KEY,
  EVENT_DRIVEN_PROMETHEUS_DEFAULT,
  MULTI_APP_PROMETHEUS_CONTEXT_KEY,
} from '../main';
import { RedisKedaAlert } from '../constructs';
import {
  CeleryKeys,
  celeryPriorityList,
  Commands,
  DEMO_CELERY_TASK,
  Env,
  FORECAST_CONFIG_FILE_NAME,
  MetricLabels,
  Metrics,
  ScalerMetadata,
  TERMINATION_MARGIN_SECONDS,
} from '../runtime/contract';

/** The alerts of a queue with its exporter, its Redis and the exporter itself, in the order AlertRules adds them. */
const QUEUE_ALERTS = [
  RedisKedaAlert.QUEUE_BACKLOG_WITHOUT_CONSUMERS,
  RedisKedaAlert.QUEUE_OLDEST_EVENT_TOO_OLD,
  RedisKedaAlert.QUEUE_DEAD_LETTERING,
  RedisKedaAlert.FLEET_AT_MAX_REPLICAS,
  RedisKedaAlert.REDIS_DOWN,
  RedisKedaAlert.REDIS_NEAR_MAX_MEMORY,
  RedisKedaAlert.QUEUE_EXPORTER_DOWN,
];

describe('the app', () => {
  const app = buildApp(Testing.app());
  test.each(app.charts.map((c) => [c.node.id, c] as const))('chart %s matches its snapshot', (_id, chart) => {
    expect(Testing.synth(chart)).toMatchSnapshot();
  });

  test.each([
    ['redis-keda', ['job-per-event', 'redis'], QUEUE_ALERTS],
    ['worker-fleet', ['queue-fleet', 'redis'], QUEUE_ALERTS],
    ['celery-worker', ['celery'], [RedisKedaAlert.CELERY_DEAD_LETTERING]],
    ['event-driven', ['queue-fleet', 'redis'], QUEUE_ALERTS],
    [
      'multi-app-redis',
      ['forecast', 'redis'],
      [
        RedisKedaAlert.FORECAST_STALE,
        RedisKedaAlert.FORECAST_STALE,
        RedisKedaAlert.FORECASTER_DEGRADED,
        RedisKedaAlert.EXTERNAL_SCALER_ERRORS,
        RedisKedaAlert.REDIS_DOWN,
        RedisKedaAlert.REDIS_NEAR_MAX_MEMORY,
      ],
    ],
  ])('chart %s carries its dashboards (%j) and alert rules', (id, kinds, alerts) => {
    const docs = synthChart(id);
    const dashboards = docs.filter((d) => d.kind === 'ConfigMap' && d.metadata.labels?.grafana_dashboard === '1');
    expect(
      dashboards.map((d) =>
        Object.keys(d.data)[0]
          .replace(/-[^-]+-c[0-9a-f]{7}\.json$/, '')
          .replace(/-queue$/, ''),
      ),
    ).toEqual(kinds);
    for (const d of dashboards) expect(d.metadata.namespace).toBe(id === 'redis-keda' ? 'redis-demo' : id);
    const rules = docs.filter((d) => d.kind === 'PrometheusRule');
    expect(rules).toHaveLength(1);
    expect(rules[0].spec.groups.flatMap((g: any) => g.rules.map((r: any) => r.alert))).toEqual(alerts);
  });

  test('chart redis-keda: accurate ScaledJob of 30, polling 5 s, one event per Job, in redis-demo', () => {
    const docs = Testing.synth(app.charts.find((c) => c.node.id === 'redis-keda')!) as any[];
    const sj = docs.find((d) => d.kind === 'ScaledJob');
    expect(sj.metadata.namespace).toBe('redis-demo');
    expect(sj.spec).toMatchObject({ maxReplicaCount: 30, pollingInterval: 5, scalingStrategy: { strategy: 'accurate' } });
    expect(sj.spec.triggers[0].metadata).toMatchObject({ listName: 'events', listLength: '1' });
    const publisher = docs.find((d) => d.kind === 'Deployment');
    const env = Object.fromEntries(publisher.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]));
    expect(env).toMatchObject({ PUBLISH_BATCH: '10', PUBLISH_INTERVAL: '10', WAIT_MIN: '10', WAIT_MAX: '20' });
  });
});

describe('chart worker-fleet', () => {
  const docs = Testing.synth(buildApp(Testing.app()).charts.find((c) => c.node.id === 'worker-fleet')!) as any[];
  test('workers scaled 0..20 on ready, in-flight and delayed work, scale-in stabilized, grace covering hand-back', () => {
    const so = docs.find((d) => d.kind === 'ScaledObject');
    expect(so.spec).toMatchObject({ minReplicaCount: 0, maxReplicaCount: 20 });
    expect(so.spec.triggers.map((t: any) => t.metadata.listName)).toEqual(['events', 'events:inflight', 'events:delayed']);
    expect(so.spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds).toBe(300);
    const worker = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === so.spec.scaleTargetRef.name);
    expect(worker.spec.replicas).toBeUndefined();
    const grace = Number(worker.spec.template.spec.containers[0].env.find((e: any) => e.name === 'GRACE_SECONDS').value);
    expect(grace).toBe(30);
    expect(worker.spec.template.spec.terminationGracePeriodSeconds).toBe(grace + TERMINATION_MARGIN_SECONDS);
    expect(docs.filter((d) => d.kind === 'PodMonitor').map((d) => d.metadata.name)).toEqual(['redis', 'worker', 'queue-exporter']);
    const sts = docs.find((d) => d.kind === 'StatefulSet');
    expect(sts.spec.volumeClaimTemplates).toHaveLength(1);
  });
});

/** The documents of one chart of the app, synthesized with these cdk8s context values. */
function synthChart(id: string, context: Record<string, string> = {}): any[] {
  const app = Testing.app();
  for (const [k, v] of Object.entries(context)) app.node.setContext(k, v);
  return Testing.synth(buildApp(app).charts.find((c) => c.node.id === id)!) as any[];
}

describe('chart celery-worker', () => {
  const chartDocs = (context: Record<string, string> = {}) => synthChart('celery-worker', context);
  const docs = chartDocs();
  const so = docs.find((d) => d.kind === 'ScaledObject');
  const worker = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === so.spec.scaleTargetRef.name);
  const envOf = (d: any) => Object.fromEntries(d.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value ?? e.valueFrom]));

  test("the original demo's values: list celery, 10 per pod, polling 15 s, cooldown 200 s, 0..10, in celery-worker", () => {
    expect(so.metadata.namespace).toBe('celery-worker');
    expect(so.spec).toMatchObject({ minReplicaCount: 0, maxReplicaCount: 10, pollingInterval: 15, cooldownPeriod: 200 });
    expect(so.spec.triggers[0]).toMatchObject({ type: 'redis', metadata: { listName: 'celery', listLength: '10' } });
    expect(worker.spec.replicas).toBeUndefined();
    expect(envOf(worker)).toMatchObject({ [Env.CELERY_QUEUES]: 'celery' });
  });

  test('scale-in does not strand tasks: priority lists and unacked counted, scale-down stabilized, grace covering hand-back', () => {
    expect(so.spec.triggers.map((t: any) => t.metadata.listName)).toEqual(['celery', ...[3, 6, 9].map((p) => celeryPriorityList('celery', p)), CeleryKeys.UNACKED]);
    expect(so.spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds).toBe(300);
    const grace = Number(envOf(worker)[Env.GRACE_SECONDS]);
    expect(grace).toBe(30);
    expect(worker.spec.template.spec.terminationGracePeriodSeconds).toBe(grace + TERMINATION_MARGIN_SECONDS);
  });

  test('external Redis over TLS on 6380 with the password from Secret redis-auth; the host a placeholder until set', () => {
    expect(envOf(worker)).toMatchObject({
      [Env.REDIS_HOST]: CELERY_REDIS_HOST_PLACEHOLDER,
      [Env.REDIS_PORT]: '6380',
      [Env.REDIS_TLS]: 'true',
      [Env.REDIS_PASSWORD]: { secretKeyRef: { name: 'redis-auth', key: 'password' } },
    });
    for (const t of so.spec.triggers) expect(t.metadata).toMatchObject({ address: `${CELERY_REDIS_HOST_PLACEHOLDER}:6380`, enableTLS: 'true' });
    expect(docs.filter((d) => d.kind === 'StatefulSet' || d.kind === 'Service')).toEqual([]);
    const auth = docs.find((d) => d.kind === 'TriggerAuthentication');
    expect(auth.spec.secretTargetRef).toEqual([{ parameter: 'password', name: 'redis-auth', key: 'password' }]);
  });

  test('host and CA Secret from the cdk8s context reach the workers, the producer and KEDA', () => {
    const set = chartDocs({ [CELERY_REDIS_HOST_CONTEXT_KEY]: 'cache.example.net', [CELERY_REDIS_CA_SECRET_CONTEXT_KEY]: 'redis-ca' });
    for (const d of set.filter((x) => x.kind === 'Deployment')) {
      expect(envOf(d)).toMatchObject({ [Env.REDIS_HOST]: 'cache.example.net', [Env.REDIS_TLS_CA]: { secretKeyRef: { name: 'redis-ca', key: 'ca.crt' } } });
    }
    const s = set.find((d) => d.kind === 'ScaledObject');
    expect(s.spec.triggers[0].metadata.address).toBe('cache.example.net:6380');
    expect(set.find((d) => d.kind === 'TriggerAuthentication').spec.secretTargetRef).toContainEqual({ parameter: 'ca', name: 'redis-ca', key: 'ca.crt' });
  });

  test("a producer, not autoscaled, sends the demo's task to celery once a second", () => {
    const producer = docs.find((d) => d.kind === 'Deployment' && d !== worker);
    expect(producer.spec.replicas).toBe(1);
    expect(producer.spec.template.spec.containers[0].args).toEqual(['celery-send', '--forever']);
    expect(envOf(producer)).toMatchObject({ [Env.CELERY_QUEUE]: 'celery', [Env.CELERY_TASK]: DEMO_CELERY_TASK, [Env.CELERY_SEND_INTERVAL]: '1' });
  });
});

describe('chart event-driven', () => {
  const docs = synthChart('event-driven');
  const named = (kind: string, name: string) => docs.find((d) => d.kind === kind && d.metadata.name === name);

  test("the original demo's values: threshold 10, polling 5 s, cooldown 30 s, 0..10, on the exporter's ready + in-flight count, in event-driven", () => {
    const so = named('ScaledObject', 'consumer');
    expect(so.metadata.namespace).toBe('event-driven');
    expect(so.spec).toMatchObject({ minReplicaCount: 0, maxReplicaCount: 10, pollingInterval: 5, cooldownPeriod: 30, scaleTargetRef: { kind: 'Deployment', name: 'consumer' } });
    expect(so.spec.triggers).toEqual([
      {
        type: 'prometheus',
        metadata: {
          serverAddress: EVENT_DRIVEN_PROMETHEUS_DEFAULT,
          query: `sum(${Metrics.QUEUE_DEPTH}{namespace="event-driven", ${MetricLabels.LIST}="events", ${MetricLabels.STATE}=~"ready|inflight"})`,
          threshold: '10',
          activationThreshold: '0',
        },
      },
    ]);
  });

  test('the producer follows its rate from the ConfigMap it mounts (10 a second to start); consumers hold 10 events a pod', () => {
    const producer = named('Deployment', 'producer');
    const rate = named('ConfigMap', 'producer-rate');
    expect(rate.data).toEqual({ rate: '10' });
    const env = Object.fromEntries(producer.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]));
    expect(env[Env.PUBLISH_RATE]).toBe('10');
    expect(producer.spec.template.spec.volumes.map((v: any) => v.configMap?.name)).toContain('producer-rate');
    const consumer = named('Deployment', 'consumer');
    expect(Object.fromEntries(consumer.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]))[Env.CONSUME_CONCURRENCY]).toBe('10');
    expect(
      docs
        .filter((d) => d.kind === 'PodMonitor')
        .map((d) => d.metadata.name)
        .sort(),
    ).toEqual(['consumer', 'producer', 'queue-exporter', 'redis']);
  });

  test('Prometheus from the cdk8s context reaches the trigger', () => {
    const so = synthChart('event-driven', { [EVENT_DRIVEN_PROMETHEUS_CONTEXT_KEY]: 'http://prometheus.example:9090' }).find((d) => d.kind === 'ScaledObject');
    expect(so.spec.triggers[0].metadata.serverAddress).toBe('http://prometheus.example:9090');
  });
});

describe('chart multi-app-redis', () => {
  const docs = synthChart('multi-app-redis');
  const named = (kind: string, name: string) => docs.find((d) => d.kind === kind && d.metadata.name === name);
  const rate = (app: string) => `sum(rate(api_requests_total{namespace="multi-app-redis", pod=~"${app}-[a-z0-9]+-[a-z0-9]+"}[60s]))`;

  test.each([
    ['api', 'hourly-spike', 50, 1.2, 20, 4],
    ['worker', 'business-hours', 40, 1.3, 15, 3],
  ])(
    '%s: %s load, %d RPS a pod, headroom %d, max %d: external trigger (lead 5m, stale 2m) + reactive trigger on the same rate, fallback %d',
    (app, pattern, perPod, headroom, max, fallback) => {
      const so = named('ScaledObject', app);
      expect(so.spec).toMatchObject({
        minReplicaCount: 2,
        maxReplicaCount: max,
        fallback: { failureThreshold: 3, replicas: fallback },
        scaleTargetRef: { kind: 'Deployment', name: app },
      });
      expect(so.spec.triggers).toEqual([
        {
          type: 'external',
          name: 'forecast',
          metadata: {
            scalerAddress: 'forecast-scaler.multi-app-redis.svc.cluster.local:50051',
            [ScalerMetadata.WORKLOAD]: app,
            [ScalerMetadata.LEAD_TIME]: '300s',
            [ScalerMetadata.STALE_AFTER]: '120s',
          },
        },
        {
          type: 'prometheus',
          name: 'reactive',
          metadata: { serverAddress: EVENT_DRIVEN_PROMETHEUS_DEFAULT, query: rate(app), threshold: String(perPod), activationThreshold: '0' },
        },
      ]);
      const workload = JSON.parse(named('ConfigMap', 'forecaster-config').data[FORECAST_CONFIG_FILE_NAME]).workloads.find((w: any) => w.name === app);
      expect(workload).toEqual({
        name: app,
        query: rate(app),
        targetPerPod: perPod,
        headroom,
        minReplicas: 2,
        maxReplicas: max,
        leadTimeSeconds: 300,
        intervalSeconds: 30,
        staleAfterSeconds: 120,
      });
      const loadgen = named('Deployment', `${app}-loadgen`).spec.template.spec.containers[0];
      expect(loadgen.args).toEqual([Commands.LOADGEN]);
      const env = Object.fromEntries(loadgen.env.map((e: any) => [e.name, e.value]));
      expect(env).toMatchObject({ [Env.LOADGEN_TARGET_URL]: `http://${app}.multi-app-redis.svc:8080`, [Env.LOADGEN_PATTERN]: pattern });
      expect(named('Deployment', app).spec.template.spec.containers[0].args).toEqual([Commands.DEMO_APP]);
      expect(named('Deployment', app).spec.replicas).toBeUndefined();
    },
  );

  test('one forecaster (2 replicas), one scaler (2 replicas, PDB), Redis; PodMonitors for every program', () => {
    expect(named('Deployment', 'forecaster').spec.replicas).toBe(2);
    expect(named('Deployment', 'forecast-scaler').spec.replicas).toBe(2);
    expect(named('PodDisruptionBudget', 'forecast-scaler').spec.minAvailable).toBe(1);
    expect(
      docs
        .filter((d) => d.kind === 'PodMonitor')
        .map((d) => d.metadata.name)
        .sort(),
    ).toEqual(['api', 'api-loadgen', 'forecast-scaler', 'forecaster', 'redis', 'worker', 'worker-loadgen']);
  });

  test('Prometheus from the cdk8s context reaches the forecaster and the reactive triggers', () => {
    const other = synthChart('multi-app-redis', { [MULTI_APP_PROMETHEUS_CONTEXT_KEY]: 'http://prometheus.example:9090' });
    const forecaster = other.find((d) => d.kind === 'Deployment' && d.metadata.name === 'forecaster');
    expect(forecaster.spec.template.spec.containers[0].env.find((e: any) => e.name === Env.PROMETHEUS_URL).value).toBe('http://prometheus.example:9090');
    for (const so of other.filter((d) => d.kind === 'ScaledObject')) expect(so.spec.triggers[1].metadata.serverAddress).toBe('http://prometheus.example:9090');
  });
});
