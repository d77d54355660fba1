import { Duration, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import {
  ExternalScaler,
  FORECAST_CONFIG_HASH_ANNOTATION,
  Forecaster,
  ForecasterProps,
  ForecastWorkloadProps,
  KedaScaledObject,
  PrometheusTrigger,
  RedisCluster,
  RedisConnection,
  RedisQueue,
} from '../../constructs';
import {
  Commands,
  Env,
  EXTERNAL_SCALER_PORT,
  FORECAST_CONFIG_DIR,
  FORECAST_CONFIG_FILE,
  FORECAST_CONFIG_FILE_NAME,
  ForecasterConfig,
  HEALTH_PATH,
  METRICS_PORT,
  READY_PATH,
  ScalerMetadata,
} from '../../runtime/contract';
import { networkPolicyViolations } from '../manifests/house-rules';
import { restrictedViolations } from '../manifests/pod-security';
import { referenceViolations } from '../manifests/references';
import { all, envOf, only, synth, testChart } from './helpers';

const API: ForecastWorkloadProps = {
  name: 'api',
  query: 'sum(rate(api_requests_total[1m]))',
  targetPerPod: 50,
  minReplicas: 2,
  maxReplicas: 20,
  leadTime: Duration.minutes(5),
  staleAfter: Duration.minutes(2),
  headroom: 1.2,
};
const WORKER: ForecastWorkloadProps = {
  name: 'worker',
  query: 'sum(rate(worker_requests_total[1m]))',
  targetPerPod: 40,
  maxReplicas: 15,
  leadTime: Duration.minutes(5),
  headroom: 1.3,
};

function setup(props: Partial<ForecasterProps> = {}, named = true) {
  const chart = testChart();
  const queue = new RedisQueue(chart, 'redis', {
    name: named ? 'redis' : undefined,
    password: { secret: kplus.Secret.fromSecretName(chart, 'pw', 'redis-auth'), key: 'password' },
    networkPolicy: {},
  });
  const forecaster = new Forecaster(chart, 'forecaster', {
    name: named ? 'forecaster' : undefined,
    prometheus: 'http://prometheus-operated.monitoring.svc:9090',
    redis: queue,
    ...props,
  });
  return { chart, queue, forecaster };
}

const forecasterDeployment = (docs: Record<string, any>[]) => all(docs, 'Deployment').find((d) => d.spec.template.spec.containers[0].name === 'forecaster')!;
const configOf = (docs: Record<string, any>[]) =>
  JSON.parse(all(docs, 'ConfigMap').find((c) => c.data?.[FORECAST_CONFIG_FILE_NAME])!.data[FORECAST_CONFIG_FILE_NAME]) as ForecasterConfig;

describe('Forecaster', () => {
  test('2 restricted replicas of `forecaster`: Redis and Prometheus env, the config file mounted from its ConfigMap, probes on what it serves', () => {
    const { chart } = setup({ workloads: [API] });
    const docs = synth(chart);
    const deployment = forecasterDeployment(docs);
    expect(deployment.metadata.name).toBe('forecaster');
    expect(deployment.spec.replicas).toBe(2);
    const pod = deployment.spec.template.spec;
    expect(restrictedViolations(pod)).toEqual([]);
    expect(pod.automountServiceAccountToken).toBe(false);
    const c = pod.containers[0];
    expect(c.args).toEqual([Commands.FORECASTER]);
    expect(envOf(c)).toEqual({
      [Env.REDIS_HOST]: 'redis.test-ns.svc',
      [Env.REDIS_PORT]: '6379',
      [Env.REDIS_PASSWORD]: { secretKeyRef: { name: 'redis-auth', key: 'password' } },
      [Env.PROMETHEUS_URL]: 'http://prometheus-operated.monitoring.svc:9090',
      [Env.FORECAST_CONFIG]: FORECAST_CONFIG_FILE,
      [Env.POD_NAME]: { fieldRef: { fieldPath: 'metadata.name' } },
      [Env.METRICS_PORT]: String(METRICS_PORT),
    });
    expect(c.ports).toEqual([{ containerPort: METRICS_PORT, name: 'metrics' }]);
    expect(c.readinessProbe.httpGet).toMatchObject({ path: READY_PATH, port: METRICS_PORT });
    expect(c.livenessProbe.httpGet).toMatchObject({ path: HEALTH_PATH, port: METRICS_PORT });
    const configMap = only(
      docs.filter((d) => d.metadata.name === 'forecaster-config'),
      'ConfigMap',
    );
    expect(pod.volumes).toEqual([{ name: expect.any(String), configMap: { name: 'forecaster-config' } }]);
    expect(c.volumeMounts).toEqual([{ mountPath: FORECAST_CONFIG_DIR, name: pod.volumes[0].name, readOnly: true }]);
    expect(FORECAST_CONFIG_FILE).toBe(`${FORECAST_CONFIG_DIR}/${FORECAST_CONFIG_FILE_NAME}`);
    expect(JSON.parse(configMap.data[FORECAST_CONFIG_FILE_NAME])).toEqual({
      workloads: [
        {
          name: 'api',
          query: 'sum(rate(api_requests_total[1m]))',
          targetPerPod: 50,
          minReplicas: 2,
          maxReplicas: 20,
          leadTimeSeconds: 300,
          intervalSeconds: 30,
          staleAfterSeconds: 120,
          headroom: 1.2,
        },
      ],
    });
    expect(deployment.spec.template.metadata.annotations[FORECAST_CONFIG_HASH_ANNOTATION]).toMatch(/^[0-9a-f]{16}$/);
  });

  test('many workloads through props and addWorkload(), every option in the config; the hash changes with the config', () => {
    const one = setup({ workloads: [API] });
    const two = setup({ workloads: [API] });
    two.forecaster.addWorkload({
      ...WORKER,
      interval: Duration.seconds(15),
      step: Duration.seconds(30),
      window: Duration.days(1),
      horizon: Duration.minutes(30),
      quantile: 0.9,
      model: { seasonality: 'daily' },
    });
    const docs = synth(two.chart);
    expect(configOf(docs).workloads.map((w) => w.name)).toEqual(['api', 'worker']);
    expect(configOf(docs).workloads[1]).toEqual({
      name: 'worker',
      query: 'sum(rate(worker_requests_total[1m]))',
      targetPerPod: 40,
      minReplicas: 1,
      maxReplicas: 15,
      leadTimeSeconds: 300,
      intervalSeconds: 15,
      staleAfterSeconds: 120,
      stepSeconds: 30,
      windowSeconds: 86400,
      horizonSeconds: 1800,
      headroom: 1.3,
      quantile: 0.9,
      model: { seasonality: 'daily' },
    });
    const hash = (d: Record<string, any>[]) => forecasterDeployment(d).spec.template.metadata.annotations[FORECAST_CONFIG_HASH_ANNOTATION];
    expect(hash(docs)).not.toBe(hash(synth(one.chart)));
    expect(hash(synth(setup({ workloads: [API] }).chart))).toBe(hash(synth(one.chart)));
    expect(two.forecaster.workloads.map((w) => w.name)).toEqual(['api', 'worker']);
  });

  test.each([true, false])(
    'named %s: every reference resolves (ConfigMap, Secret, scaler Service), Redis admits forecaster and scaler, the PodMonitor selects the pods',
    (named) => {
      const { chart, queue, forecaster } = setup({ workloads: [API, WORKER], podMonitor: true }, named);
      const scaler = new ExternalScaler(chart, 'scaler', { name: named ? 'forecast-scaler' : undefined, redis: queue });
      const api = new kplus.Deployment(chart, 'api', { containers: [{ image: 'example/api:1.0.0' }] });
      new KedaScaledObject(chart, 'api-scaler', {
        target: api,
        triggers: [forecaster.trigger({ workload: 'api', scaler })],
        maxReplicas: 20,
        fallback: { failureThreshold: 3, replicas: 4 },
      });
      const docs = synth(chart);
      expect(referenceViolations(docs, { externalSecrets: ['redis-auth'] })).toEqual([]);
      expect(networkPolicyViolations(docs)).toEqual([]);
      const labels = forecasterDeployment(docs).spec.template.metadata.labels;
      expect(
        only(
          docs.filter((d) => d.spec?.selector?.matchLabels?.['app.kubernetes.io/component'] === 'forecaster'),
          'PodMonitor',
        ).spec.selector.matchLabels,
      ).toEqual({
        'app.kubernetes.io/name': labels['app.kubernetes.io/name'],
        'app.kubernetes.io/component': 'forecaster',
      });
      // The scalerAddress is checked too: without the scaler's Service it would not resolve.
      const withoutService = docs.filter((d) => !(d.kind === 'Service' && d.spec.ports.some((p: any) => p.name === 'grpc')));
      expect(referenceViolations(withoutService, { externalSecrets: ['redis-auth'] })).toEqual([expect.stringContaining('triggers[0] address')]);
      const configMapName = forecasterDeployment(docs).spec.template.spec.volumes[0].configMap.name;
      expect(all(docs, 'ConfigMap').map((c) => c.metadata.name)).toContain(configMapName);
    },
  );

  test('trigger(): external, the scaler Service address, workload, lead time and staleness from the same workload props', () => {
    const { chart, queue, forecaster } = setup({ workloads: [API] });
    const worker = forecaster.addWorkload({ ...WORKER, staleAfter: Duration.seconds(90), leadTime: Duration.minutes(10) });
    const scaler = new ExternalScaler(chart, 'scaler', { name: 'forecast-scaler', redis: queue });
    const target = new kplus.Deployment(chart, 'worker', { containers: [{ image: 'example/worker:1.0.0' }] });
    const reactive = new PrometheusTrigger(chart, 'reactive', { name: 'reactive', serverAddress: 'http://prometheus:9090', query: WORKER.query, threshold: 40 });
    new KedaScaledObject(chart, 'worker-scaler', { target, triggers: [forecaster.trigger({ workload: worker, scaler }), reactive], maxReplicas: 15 });
    const scaled = only(synth(chart), 'ScaledObject');
    expect(scaled.spec.triggers[0]).toEqual({
      type: 'external',
      name: 'forecast',
      metadata: {
        scalerAddress: `forecast-scaler.test-ns.svc.cluster.local:${EXTERNAL_SCALER_PORT}`,
        [ScalerMetadata.WORKLOAD]: 'worker',
        [ScalerMetadata.LEAD_TIME]: '600s',
        [ScalerMetadata.STALE_AFTER]: '90s',
      },
    });
    expect(configOf(synth(chart)).workloads[1]).toMatchObject({ leadTimeSeconds: 600, staleAfterSeconds: 90 });
  });

  test('Redis from a RedisConnection or a RedisCluster: their env', () => {
    const chart = testChart();
    const external = RedisConnection.external(chart, { host: 'cache.example.net', port: 6380, tls: true });
    new Forecaster(chart, 'external', { prometheus: 'http://prometheus:9090', redis: external, workloads: [API] });
    const cluster = new RedisCluster(chart, 'cluster', { name: 'redis-cluster', masters: 3 });
    new Forecaster(chart, 'on-cluster', { prometheus: 'http://prometheus:9090', redis: cluster, workloads: [API] });
    const envs = all(synth(chart), 'Deployment')
      .filter((d) => d.spec.template.spec.containers[0].name === 'forecaster')
      .map((d) => envOf(d.spec.template.spec.containers[0]));
    expect(envs[0]).toMatchObject({ [Env.REDIS_HOST]: 'cache.example.net', [Env.REDIS_PORT]: '6380', [Env.REDIS_TLS]: 'true' });
    expect(envs[1][Env.REDIS_CLUSTER_NODES]).toBe(cluster.connection.clusterNodes!.join(','));
    expect(envs[1][Env.REDIS_HOST]).toBeUndefined();
  });

  test('bad props and workloads are rejected before YAML, naming the construct path, the prop and the value', () => {
    const bad = (workload: Partial<ForecastWorkloadProps>) => () => setup({ workloads: [{ ...API, ...workload }] });
    expect(() => setup({ prometheus: 'prometheus:9090' })).toThrow('test/forecaster: \'prometheus\' ("prometheus:9090") must be an http:// or https:// URL without credentials');
    expect(() => setup({ prometheus: 'http://user:pw@prometheus:9090' })).toThrow(
      '\'prometheus\' ("http://user:pw@prometheus:9090") must be an http:// or https:// URL without credentials',
    );
    expect(() => setup({ replicas: 0 })).toThrow("test/forecaster: 'replicas' (0) must be at least 1");
    expect(bad({ name: 'API' })).toThrow('test/forecaster: \'workloads.name\' ("API") must be a DNS label');
    expect(() => setup({ workloads: [API, API] })).toThrow('test/forecaster: \'workloads.name\' ("api") must name each workload once');
    expect(bad({ query: ' ' })).toThrow('test/forecaster: \'workloads[api].query\' (" ") must be a PromQL query');
    expect(bad({ targetPerPod: 0 })).toThrow("test/forecaster: 'workloads[api].targetPerPod' (0) must be a number above 0");
    expect(bad({ minReplicas: 21 })).toThrow("test/forecaster: 'workloads[api].minReplicas' (21) must be at most 'maxReplicas' (20)");
    expect(bad({ maxReplicas: 0 })).toThrow("test/forecaster: 'workloads[api].maxReplicas' (0) must be at least 1");
    expect(bad({ maxReplicas: 2.5 })).toThrow("test/forecaster: 'workloads[api].maxReplicas' (2.5) must be an integer");
    expect(bad({ leadTime: Duration.millis(500) })).toThrow('test/forecaster: \'workloads[api].leadTime\' ("0.5s") must be a whole number of seconds, at least 1');
    expect(bad({ staleAfter: Duration.seconds(30) })).toThrow("test/forecaster: 'workloads[api].staleAfter' (\"30s\") must be more than 'interval' (30s)");
    expect(bad({ step: Duration.minutes(10) })).toThrow("test/forecaster: 'workloads[api].leadTime' (\"300s\") must be at least 'step' (600s)");
    expect(bad({ horizon: Duration.minutes(1) })).toThrow("test/forecaster: 'workloads[api].horizon' (\"60s\") must be at least 'leadTime' (300s)");
    expect(bad({ headroom: 0.8 })).toThrow("test/forecaster: 'workloads[api].headroom' (0.8) must be from 1 to 10");
    expect(bad({ quantile: 1 })).toThrow("test/forecaster: 'workloads[api].quantile' (1) must be between 0 and 1");
  });

  test('a trigger for a workload the forecaster lacks, or a scaler on another Redis, is rejected; no workload at all fails synth', () => {
    const { chart, queue, forecaster } = setup({ workloads: [API] });
    const scaler = new ExternalScaler(chart, 'scaler', { redis: queue });
    expect(() => forecaster.trigger({ workload: 'worker', scaler })).toThrow('test/forecaster: \'trigger.workload\' ("worker") must be a workload of this forecaster: api');
    const other = new ExternalScaler(chart, 'other-scaler', { redis: RedisConnection.external(chart, { host: 'elsewhere' }) });
    expect(() => forecaster.trigger({ workload: 'api', scaler: other })).toThrow("test/forecaster: 'trigger.scaler' (\"test/other-scaler\") must read the forecaster's Redis");
    const empty = setup();
    expect(() => Testing.synth(empty.chart)).toThrow("test/forecaster: 'workloads' ([]) must hold at least one workload");
  });
});
