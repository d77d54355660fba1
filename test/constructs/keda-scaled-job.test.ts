import { Cron, Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { CustomTrigger, KedaScaledJob, KedaScaledJobProps, MultipleScalersCalculation, RedisQueue, RolloutStrategy, ScalingStrategy } from '../../constructs';
import { CLAIM_DIR, CLAIM_FILE, DEFAULT_RUNTIME_IMAGE, Env } from '../../runtime/contract';
import { all, envOf, only, synth, testChart } from './helpers';

function setup(props: Partial<KedaScaledJobProps> = {}, password = true) {
  const chart = testChart();
  const queue = new RedisQueue(chart, 'queue', {
    name: 'redis',
    password: password ? { secret: kplus.Secret.fromSecretName(chart, 'pw', 'redis-auth'), key: 'password' } : undefined,
  });
  const job = new KedaScaledJob(chart, 'consumer', {
    triggers: [queue.listTrigger({ listLength: 1 })],
    container: { args: ['consume', '--once'], envVariables: queue.connection.envVariables() },
    ...props,
  });
  return { chart, queue, job, docs: synth(chart) };
}

describe('KedaScaledJob', () => {
  test('defaults avoid KEDA traps: accurate, Ready as pending condition, gradual rollout', () => {
    const { docs } = setup();
    const sj = only(docs, 'ScaledJob');
    expect(sj.apiVersion).toBe('keda.sh/v1alpha1');
    expect(sj.spec.scalingStrategy).toEqual({ strategy: 'accurate', pendingPodConditions: ['Ready'] });
    expect(sj.spec.rollout).toEqual({ strategy: 'gradual' });
    expect(sj.spec.rolloutStrategy).toBeUndefined();
    expect(sj.spec.pollingInterval).toBe(30);
    expect(sj.spec.maxReplicaCount).toBe(100);
  });

  test('the job container claims readiness through a marker file in an emptyDir', () => {
    const { docs } = setup();
    const template = only(docs, 'ScaledJob').spec.jobTargetRef.template;
    const c = template.spec.containers[0];
    expect(c.image).toBe(DEFAULT_RUNTIME_IMAGE);
    expect(c.readinessProbe.exec.command).toEqual(['cat', CLAIM_FILE]);
    expect(envOf(c)[Env.READY_FILE]).toBe(CLAIM_FILE);
    const mount = c.volumeMounts.find((m: any) => m.mountPath === CLAIM_DIR);
    expect(template.spec.volumes.find((v: any) => v.name === mount.name)).toEqual({ name: mount.name, emptyDir: {} });
    expect(c.securityContext).toMatchObject({ runAsUser: 1000, runAsNonRoot: true, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(c.resources.requests).toEqual({ cpu: '50m', memory: '64Mi' });
    expect(template.spec.restartPolicy).toBe('Never');
    expect(template.metadata.labels['cdk8s.io/metadata.addr']).toBeUndefined();
  });

  test('claimReadiness off: no probe, no pending condition', () => {
    const { docs } = setup({ claimReadiness: false });
    const sj = only(docs, 'ScaledJob');
    expect(sj.spec.scalingStrategy).toEqual({ strategy: 'accurate' });
    expect(sj.spec.jobTargetRef.template.spec.containers[0].readinessProbe).toBeUndefined();
  });

  test('the password reaches KEDA through a TriggerAuthentication, never in metadata', () => {
    const { docs } = setup();
    const trigger = only(docs, 'ScaledJob').spec.triggers[0];
    const auth = only(docs, 'TriggerAuthentication');
    expect(trigger).toEqual({
      type: 'redis',
      metadata: { address: 'redis.test-ns.svc:6379', listName: 'events', listLength: '1', activationListLength: '0' },
      authenticationRef: { name: auth.metadata.name },
    });
    expect(JSON.stringify(trigger)).not.toMatch(/password/i);
  });

  test('two triggers on one connection share one TriggerAuthentication', () => {
    const chart = testChart();
    const queue = new RedisQueue(chart, 'queue', { password: { secret: kplus.Secret.fromSecretName(chart, 'pw', 'redis-auth'), key: 'password' } });
    new KedaScaledJob(chart, 'a', { triggers: [queue.listTrigger()], container: {} });
    new KedaScaledJob(chart, 'b', { triggers: [queue.listTrigger({ listLength: 2 })], container: {} });
    const docs = synth(chart);
    expect(all(docs, 'TriggerAuthentication')).toHaveLength(1);
    expect(all(docs, 'CronJob')).toHaveLength(2);
  });

  test('a reaper CronJob runs `queue reap` on the leased list', () => {
    const { docs } = setup();
    const cron = only(docs, 'CronJob');
    expect(cron.spec.schedule).toBe('* * * * *');
    expect(cron.spec.concurrencyPolicy).toBe('Forbid');
    const c = cron.spec.jobTemplate.spec.template.spec.containers[0];
    expect(c.args).toEqual(['queue', 'reap']);
    expect(envOf(c)).toMatchObject({
      [Env.LIST_NAME]: 'events',
      [Env.REDIS_HOST]: 'redis.test-ns.svc',
      [Env.REDIS_PASSWORD]: { secretKeyRef: { name: 'redis-auth', key: 'password' } },
    });
    expect(cron.spec.jobTemplate.spec.template.spec.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
  });

  test('reaper schedule can change and the reaper can be turned off', () => {
    expect(only(setup({ reaper: { schedule: Cron.schedule({ minute: '*/5' }) } }).docs, 'CronJob').spec.schedule).toBe('*/5 * * * *');
    expect(all(setup({ reaper: { enabled: false } }).docs, 'CronJob')).toHaveLength(0);
  });

  test('job options render into jobTargetRef', () => {
    const { docs } = setup({
      activeDeadline: Duration.minutes(2),
      backoffLimit: 0,
      maxReplicas: 30,
      pollingInterval: Duration.seconds(5),
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 4,
      rollout: RolloutStrategy.IMMEDIATE,
      imagePullSecrets: ['regcred'],
      restartPolicy: kplus.RestartPolicy.ON_FAILURE,
    });
    const sj = only(docs, 'ScaledJob');
    expect(sj.spec).toMatchObject({ maxReplicaCount: 30, pollingInterval: 5, successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 4, rollout: { strategy: 'immediate' } });
    expect(sj.spec.jobTargetRef).toMatchObject({ activeDeadlineSeconds: 120, backoffLimit: 0 });
    expect(sj.spec.jobTargetRef.template.spec.restartPolicy).toBe('OnFailure');
    expect(sj.spec.jobTargetRef.template.spec.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    expect(only(docs, 'CronJob').spec.jobTemplate.spec.template.spec.imagePullSecrets).toEqual([{ name: 'regcred' }]);
  });

  test('container quantities and probes with int-or-string ports survive rendering', () => {
    const { docs } = setup({
      container: {
        resources: { cpu: { request: kplus.Cpu.millis(250) }, memory: { request: Size.mebibytes(100) } },
        liveness: kplus.Probe.fromHttpGet('/healthz', { port: 8080 }),
      },
    });
    const c = only(docs, 'ScaledJob').spec.jobTargetRef.template.spec.containers[0];
    expect(c.resources.requests).toEqual({ cpu: '250m', memory: '100Mi' });
    expect(c.livenessProbe.httpGet.port).toBe(8080);
  });

  test.each([
    ['default', ScalingStrategy.default(), { pendingPodConditions: ['Ready'] }],
    [
      'eager',
      ScalingStrategy.eager({ multipleScalersCalculation: MultipleScalersCalculation.SUM }),
      { strategy: 'eager', multipleScalersCalculation: 'sum', pendingPodConditions: ['Ready'] },
    ],
    [
      'custom',
      ScalingStrategy.custom({ queueLengthDeduction: 1, runningJobPercentage: 0.5, pendingPodConditions: ['PodScheduled'] }),
      { strategy: 'custom', customScalingQueueLengthDeduction: 1, customScalingRunningJobPercentage: '0.5', pendingPodConditions: ['PodScheduled', 'Ready'] },
    ],
  ])('scaling strategy %s', (_n, strategy, expected) => {
    expect(only(setup({ scalingStrategy: strategy }).docs, 'ScaledJob').spec.scalingStrategy).toEqual(expected);
  });

  test('a trigger reading ...FromEnv needs the variable in the job container', () => {
    const trigger = new CustomTrigger('redis', { addressFromEnv: 'REDIS_ADDRESS', listName: 'x' });
    const chart = testChart();
    expect(() => new KedaScaledJob(chart, 'j', { triggers: [trigger], container: {} })).toThrow(
      /test\/j: 'container.envVariables' \(""\) must define REDIS_ADDRESS: KEDA reads the redis trigger's \.\.\.FromEnv keys/,
    );
    expect(() => new KedaScaledJob(chart, 'k', { triggers: [trigger], container: { envVariables: { REDIS_ADDRESS: kplus.EnvValue.fromValue('a:1') } } })).not.toThrow();
  });

  test('app-wide image override from context and per-construct image', () => {
    const chart = testChart();
    chart.node.setContext('redis-keda:image', 'registry.example/rk:9.9.9');
    const queue = new RedisQueue(chart, 'queue');
    new KedaScaledJob(chart, 'a', { triggers: [queue.listTrigger()], container: {} });
    new KedaScaledJob(chart, 'b', { triggers: [queue.listTrigger()], container: { image: 'mine/consumer:1.0' }, reaper: { enabled: false } });
    const [a, b] = all(synth(chart), 'ScaledJob');
    expect(a.spec.jobTargetRef.template.spec.containers[0].image).toBe('registry.example/rk:9.9.9');
    expect(b.spec.jobTargetRef.template.spec.containers[0].image).toBe('mine/consumer:1.0');
  });

  const invalid: Array<[string, () => unknown, RegExp]> = [
    ['listLength 0', () => setupTrigger({ listLength: 0 }), /'listLength' \(0\) must be at least 1/],
    ['listLength -1', () => setupTrigger({ listLength: -1 }), /'listLength' \(-1\) must be at least 1/],
    ['listLength 1.5', () => setupTrigger({ listLength: 1.5 }), /'listLength' \(1.5\) must be an integer$/],
    ['activationListLength -1', () => setupTrigger({ activationListLength: -1 }), /'activationListLength' \(-1\) must be at least 0/],
    ['maxReplicas 0', () => setup({ maxReplicas: 0 }), /test\/consumer: 'maxReplicas' \(0\) must be at least 1/],
    ['minReplicas > maxReplicas', () => setup({ minReplicas: 5, maxReplicas: 2 }), /'minReplicas' \(5\) must be at most 'maxReplicas' \(2\)/],
    ['pollingInterval 0', () => setup({ pollingInterval: Duration.seconds(0) }), /'pollingInterval' \("0s"\) must be a whole number of seconds, at least 1/],
    ['pollingInterval 1.5s', () => setup({ pollingInterval: Duration.millis(1500) }), /'pollingInterval' \("1.5s"\)/],
    ['backoffLimit -1', () => setup({ backoffLimit: -1 }), /'backoffLimit' \(-1\) must be at least 0/],
    ['triggers []', () => setup({ triggers: [] }), /'triggers' \("\[\]"\) must hold at least one trigger/],
    ['image without tag', () => setup({ container: { image: 'busybox' } }), /'container.image' \("busybox"\) must name a pinned tag or digest/],
    [
      'runningJobPercentage 2',
      () => setup({ scalingStrategy: ScalingStrategy.custom({ runningJobPercentage: 2 }) }),
      /'scalingStrategy.runningJobPercentage' \(2\) must be between 0 and 1/,
    ],
    ['name', () => setup({ name: 'Consumer' }), /'name' \("Consumer"\) must be a DNS-1123 label/],
    [
      'queueLengthDeduction 1.5',
      () => setup({ scalingStrategy: ScalingStrategy.custom({ queueLengthDeduction: 1.5 }) }),
      /^test\/consumer: 'scalingStrategy.queueLengthDeduction' \(1.5\) must be an integer$/,
    ],
    [
      'pendingPodConditions',
      () => setup({ scalingStrategy: ScalingStrategy.accurate({ pendingPodConditions: ['not ready'] }) }),
      /^test\/consumer: 'scalingStrategy.pendingPodConditions' \("not ready"\) must be pod condition types such as "Ready"$/,
    ],
  ];
  test.each(invalid)('rejects %s', (_n, make, message) => {
    expect(make).toThrow(message);
  });
});

function setupTrigger(options: { listLength?: number; activationListLength?: number }) {
  const chart = testChart();
  return new RedisQueue(chart, 'queue').listTrigger(options);
}
