import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { ExternalScaler, ExternalScalerProps, Forecaster, KedaScaledObject, RedisConnection, RedisQueue } from '../../constructs';
import { Commands, Env, EXTERNAL_SCALER_PORT, HEALTH_PATH, METRICS_PORT, SCALER_TLS_DIR } from '../../runtime/contract';
import { networkPolicyViolations } from '../manifests/house-rules';
import { restrictedViolations } from '../manifests/pod-security';
import { referenceViolations } from '../manifests/references';
import { all, envOf, only, synth, testChart } from './helpers';

function setup(props: Partial<ExternalScalerProps> = {}, named = true) {
  const chart = testChart();
  const queue = new RedisQueue(chart, 'redis', {
    name: named ? 'redis' : undefined,
    password: { secret: kplus.Secret.fromSecretName(chart, 'pw', 'redis-auth'), key: 'password' },
    networkPolicy: {},
  });
  const scaler = new ExternalScaler(chart, 'scaler', { name: named ? 'forecast-scaler' : undefined, redis: queue, ...props });
  return { chart, queue, scaler };
}

const scalerDeployment = (docs: Record<string, any>[]) => all(docs, 'Deployment').find((d) => d.spec.template.spec.containers[0].name === 'scaler')!;

describe('ExternalScaler', () => {
  test('2 restricted replicas of `scaler` with the Redis, port, deadline and staleness env; readiness on /healthz of the metrics port (GetMetricSpec needs no Redis; an outage reaches KEDA as gRPC errors)', () => {
    const { chart } = setup({ deadline: Duration.millis(1500), staleAfter: Duration.minutes(3) });
    const docs = synth(chart);
    const deployment = scalerDeployment(docs);
    expect(deployment.metadata.name).toBe('forecast-scaler');
    expect(deployment.spec.replicas).toBe(2);
    const pod = deployment.spec.template.spec;
    expect(restrictedViolations(pod)).toEqual([]);
    const c = pod.containers[0];
    expect(c.args).toEqual([Commands.SCALER]);
    expect(envOf(c)).toEqual({
      [Env.REDIS_HOST]: 'redis.test-ns.svc',
      [Env.REDIS_PORT]: '6379',
      [Env.REDIS_PASSWORD]: { secretKeyRef: { name: 'redis-auth', key: 'password' } },
      [Env.SCALER_PORT]: String(EXTERNAL_SCALER_PORT),
      [Env.SCALER_DEADLINE]: '1500',
      [Env.SCALER_STALE_AFTER]: '180',
      [Env.METRICS_PORT]: String(METRICS_PORT),
    });
    expect(c.ports).toEqual([
      { containerPort: METRICS_PORT, name: 'metrics' },
      { containerPort: EXTERNAL_SCALER_PORT, name: 'grpc' },
    ]);
    expect(c.readinessProbe.httpGet).toMatchObject({ path: HEALTH_PATH, port: METRICS_PORT });
    expect(c.livenessProbe.httpGet).toMatchObject({ path: HEALTH_PATH, port: METRICS_PORT });
    expect(c.volumeMounts).toBeUndefined();
    const service = all(docs, 'Service').find((s) => s.metadata.name === 'forecast-scaler')!;
    expect(service.spec.ports).toEqual([
      { name: 'grpc', port: EXTERNAL_SCALER_PORT, targetPort: EXTERNAL_SCALER_PORT },
      { name: 'metrics', port: METRICS_PORT, targetPort: METRICS_PORT },
    ]);
    const pdb = only(docs, 'PodDisruptionBudget');
    expect(pdb.metadata.name).toBe('forecast-scaler');
    expect(pdb.spec).toEqual({ minAvailable: 1, selector: { matchLabels: deployment.spec.selector.matchLabels } });
    expect(all(docs, 'TriggerAuthentication').filter((a) => a.spec.secretTargetRef.some((r: any) => r.parameter === 'caCert'))).toEqual([]);
  });

  test('defaults: a deadline of 2 s and stale after 2 minutes', () => {
    const { chart } = setup();
    expect(envOf(scalerDeployment(synth(chart)).spec.template.spec.containers[0])).toMatchObject({ [Env.SCALER_DEADLINE]: '2000', [Env.SCALER_STALE_AFTER]: '120' });
  });

  test.each([true, false])('named %s: every reference resolves (Services, PDB selector, PodMonitor, the trigger address), Redis admits the scaler', (named) => {
    const { chart, scaler } = setup({ podMonitor: true }, named);
    const docs = synth(chart);
    expect(referenceViolations(docs, { externalSecrets: ['redis-auth'] })).toEqual([]);
    expect(networkPolicyViolations(docs)).toEqual([]);
    const deployment = scalerDeployment(docs);
    const labels = deployment.spec.template.metadata.labels;
    const pdb = only(docs, 'PodDisruptionBudget');
    expect(Object.entries(pdb.spec.selector.matchLabels).every(([k, v]) => labels[k] === v)).toBe(true);
    const service = all(docs, 'Service').find((s) => s.spec.ports.some((p: any) => p.name === 'grpc'))!;
    expect(scaler.address).toBe(`${service.metadata.name}.test-ns.svc.cluster.local:${EXTERNAL_SCALER_PORT}`);
    const policy = only(docs, 'NetworkPolicy');
    const admitted = policy.spec.ingress[0].from.filter((p: any) => p.podSelector && Object.entries(p.podSelector.matchLabels).every(([k, v]) => labels[k] === v));
    expect(admitted).toHaveLength(1);
    expect(only(docs, 'PodMonitor').spec.selector.matchLabels).toEqual({
      'app.kubernetes.io/name': labels['app.kubernetes.io/name'],
      'app.kubernetes.io/component': 'external-scaler',
    });
  });

  test('TLS: the Secret mounted read-only at SCALER_TLS_DIR, SCALER_TLS_DIR set; the TriggerAuthentication carries caCert and the client certificate', () => {
    const chart = testChart();
    const queue = new RedisQueue(chart, 'redis', { name: 'redis' });
    const scaler = new ExternalScaler(chart, 'scaler', {
      name: 'forecast-scaler',
      redis: queue,
      tls: { secret: kplus.Secret.fromSecretName(chart, 'tls', 'scaler-tls'), clientCertificate: kplus.Secret.fromSecretName(chart, 'client', 'keda-client-tls') },
    });
    const forecaster = new Forecaster(chart, 'forecaster', { prometheus: 'http://prometheus:9090', redis: queue });
    forecaster.addWorkload({ name: 'api', query: 'sum(rate(api_requests_total[1m]))', targetPerPod: 50, maxReplicas: 20, leadTime: Duration.minutes(5) });
    const target = new kplus.Deployment(chart, 'api', { containers: [{ image: 'example/api:1.0.0' }] });
    new KedaScaledObject(chart, 'api-scaler', { target, triggers: [forecaster.trigger({ workload: 'api', scaler })], maxReplicas: 20 });
    const docs = synth(chart);
    const c = scalerDeployment(docs).spec.template.spec.containers[0];
    expect(envOf(c)[Env.SCALER_TLS_DIR]).toBe(SCALER_TLS_DIR);
    const volume = scalerDeployment(docs).spec.template.spec.volumes.find((v: any) => v.secret);
    expect(volume.secret).toEqual({ secretName: 'scaler-tls' });
    expect(c.volumeMounts).toEqual([{ mountPath: SCALER_TLS_DIR, name: volume.name, readOnly: true }]);
    const auth = all(docs, 'TriggerAuthentication').find((a) => a.metadata.name === 'forecast-scaler-trigger-auth')!;
    expect(auth.spec.secretTargetRef).toEqual([
      { parameter: 'caCert', name: 'scaler-tls', key: 'ca.crt' },
      { parameter: 'tlsClientCert', name: 'keda-client-tls', key: 'tls.crt' },
      { parameter: 'tlsClientKey', name: 'keda-client-tls', key: 'tls.key' },
    ]);
    const scaled = only(docs, 'ScaledObject');
    expect(scaled.spec.triggers[0].authenticationRef).toEqual({ name: 'forecast-scaler-trigger-auth' });
    expect(referenceViolations(docs, { externalSecrets: ['scaler-tls', 'keda-client-tls'] })).toEqual([]);
  });

  test('TLS without a client certificate, a CA of another Secret, no names: only caCert, and the reference resolves', () => {
    const chart = testChart();
    const redis = RedisConnection.external(chart, { host: 'redis.example.net' });
    const scaler = new ExternalScaler(chart, 'scaler', {
      redis,
      tls: { secret: kplus.Secret.fromSecretName(chart, 'tls', 'scaler-tls'), ca: { secret: kplus.Secret.fromSecretName(chart, 'ca', 'scaler-ca'), key: 'bundle.pem' } },
    });
    const forecaster = new Forecaster(chart, 'forecaster', { prometheus: 'http://prometheus:9090', redis });
    forecaster.addWorkload({ name: 'api', query: 'up', targetPerPod: 1, maxReplicas: 2, leadTime: Duration.minutes(1) });
    const target = new kplus.Deployment(chart, 'api', { containers: [{ image: 'example/api:1.0.0' }] });
    new KedaScaledObject(chart, 'api-scaler', { target, triggers: [forecaster.trigger({ workload: 'api', scaler })], maxReplicas: 2 });
    const docs = synth(chart);
    const auth = only(docs, 'TriggerAuthentication');
    expect(auth.spec.secretTargetRef).toEqual([{ parameter: 'caCert', name: 'scaler-ca', key: 'bundle.pem' }]);
    expect(only(docs, 'ScaledObject').spec.triggers[0].authenticationRef).toEqual({ name: auth.metadata.name });
    expect(referenceViolations(docs, { externalSecrets: ['scaler-tls', 'scaler-ca'] })).toEqual([]);
  });

  test('bad props are rejected naming the construct path, the prop and the value', () => {
    expect(() => setup({ replicas: 0 })).toThrow("test/scaler: 'replicas' (0) must be at least 1");
    expect(() => setup({ deadline: Duration.seconds(61) })).toThrow('test/scaler: \'deadline\' ("61000ms") must be a whole number of milliseconds from 1 ms to 60 s');
    expect(() => setup({ staleAfter: Duration.millis(1500) })).toThrow('test/scaler: \'staleAfter\' ("1.5s") must be a whole number of seconds, at least 1');
    expect(() => setup({ name: 'Scaler' })).toThrow('test/scaler: \'name\' ("Scaler") must be a DNS-1123 label');
  });
});
