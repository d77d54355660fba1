import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { CustomTrigger, FallbackBehavior, KedaScaledObject, KedaScaledObjectProps, RedisQueue, ScalingPolicyType, SelectPolicy } from '../../constructs';
import { all, only, synth, testChart } from './helpers';

function setup(props: Partial<KedaScaledObjectProps> = {}, workload: 'deployment' | 'statefulset' = 'deployment') {
  const chart = testChart();
  const queue = new RedisQueue(chart, 'queue', { name: 'redis', password: { secret: kplus.Secret.fromSecretName(chart, 'pw', 'redis-auth'), key: 'password' } });
  const target =
    workload === 'deployment'
      ? new kplus.Deployment(chart, 'worker', { containers: [{ image: 'w:1', envVariables: queue.connection.envVariables() }] })
      : new kplus.StatefulSet(chart, 'worker', { containers: [{ image: 'w:1', portNumber: 8080, envVariables: queue.connection.envVariables() }] });
  new KedaScaledObject(chart, 'scaler', { target, triggers: [queue.listTrigger({ listLength: 10 })], ...props });
  return synth(chart);
}

describe('KedaScaledObject', () => {
  test('defaults: 0..100, the target Deployment loses `replicas`', () => {
    const docs = setup();
    const so = only(docs, 'ScaledObject');
    expect(so.spec).toMatchObject({ minReplicaCount: 0, maxReplicaCount: 100, pollingInterval: 30, cooldownPeriod: 300 });
    const deployment = only(docs, 'Deployment');
    expect(so.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
    expect(deployment.spec.replicas).toBeUndefined();
    expect(so.spec.triggers[0]).toMatchObject({ type: 'redis', authenticationRef: { name: 'redis-trigger-auth' } });
    expect(so.spec.advanced).toBeUndefined();
  });

  test('above zero replicas (KEDA ignores both then, and its webhook warns): no pollingInterval or cooldownPeriod unless given; with idleReplicaCount 0 both', () => {
    const spec = (props: Partial<KedaScaledObjectProps>) => only(setup(props), 'ScaledObject').spec;
    const above = spec({ minReplicas: 2 });
    expect([above.minReplicaCount, 'pollingInterval' in above, 'cooldownPeriod' in above]).toEqual([2, false, false]);
    expect(spec({ minReplicas: 2, pollingInterval: Duration.seconds(15) })).toMatchObject({ pollingInterval: 15 });
    expect('cooldownPeriod' in spec({ minReplicas: 2, pollingInterval: Duration.seconds(15) })).toBe(false);
    expect(spec({ minReplicas: 2, cooldown: Duration.seconds(60) })).toMatchObject({ cooldownPeriod: 60 });
    expect(spec({ minReplicas: 2, idleReplicaCount: 0 })).toMatchObject({ pollingInterval: 30, cooldownPeriod: 300, idleReplicaCount: 0 });
  });

  test('a StatefulSet target loses `replicas` too', () => {
    const docs = setup({}, 'statefulset');
    const sets = all(docs, 'StatefulSet').filter((s) => s.metadata.name !== 'redis');
    expect(sets[0].spec.replicas).toBeUndefined();
    expect(only(docs, 'ScaledObject').spec.scaleTargetRef.kind).toBe('StatefulSet');
  });

  test('all options render', () => {
    const so = only(
      setup({
        name: 'fleet',
        minReplicas: 2,
        maxReplicas: 20,
        idleReplicaCount: 0,
        pollingInterval: Duration.seconds(5),
        cooldown: Duration.seconds(0),
        fallback: { failureThreshold: 3, replicas: 4, behavior: FallbackBehavior.CURRENT_REPLICAS_IF_HIGHER },
        scaleUp: { stabilizationWindow: Duration.seconds(0), policies: [{ type: ScalingPolicyType.PERCENT, value: 100, period: Duration.seconds(15) }] },
        scaleDown: {
          stabilizationWindow: Duration.minutes(5),
          selectPolicy: SelectPolicy.MIN,
          policies: [{ type: ScalingPolicyType.PODS, value: 1, period: Duration.minutes(1) }],
        },
        paused: true,
        pausedReplicas: 3,
      }),
      'ScaledObject',
    );
    expect(so.metadata).toMatchObject({ name: 'fleet', annotations: { 'autoscaling.keda.sh/paused': 'true', 'autoscaling.keda.sh/paused-replicas': '3' } });
    expect(so.spec).toMatchObject({
      minReplicaCount: 2,
      maxReplicaCount: 20,
      idleReplicaCount: 0,
      pollingInterval: 5,
      cooldownPeriod: 0,
      fallback: { failureThreshold: 3, replicas: 4, behavior: 'currentReplicasIfHigher' },
      advanced: {
        horizontalPodAutoscalerConfig: {
          behavior: {
            scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] },
            scaleDown: { stabilizationWindowSeconds: 300, selectPolicy: 'Min', policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] },
          },
        },
      },
    });
  });

  test('a target by reference', () => {
    const chart = testChart();
    new KedaScaledObject(chart, 's', {
      target: { kind: 'Rollout', apiVersion: 'argoproj.io/v1alpha1', name: 'app' },
      triggers: [new CustomTrigger('cron', { timezone: 'UTC', start: '0 8 * * *', end: '0 18 * * *', desiredReplicas: '3' })],
    });
    expect(only(synth(chart), 'ScaledObject').spec.scaleTargetRef).toEqual({ kind: 'Rollout', apiVersion: 'argoproj.io/v1alpha1', name: 'app' });
  });

  test('addressFromEnv triggers need REDIS_HOST and REDIS_PORT in the target container', () => {
    const chart = testChart();
    const queue = new RedisQueue(chart, 'queue');
    const bare = new kplus.Deployment(chart, 'bare', { containers: [{ image: 'w:1' }] });
    expect(() => new KedaScaledObject(chart, 'a', { target: bare, triggers: [queue.listTrigger({ addressFromEnv: true })] })).toThrow(
      /test\/a: 'target' \(""\) must define REDIS_HOST in its container env/,
    );
    const wired = new kplus.Deployment(chart, 'wired', { containers: [{ image: 'w:1', envVariables: queue.connection.envVariables() }] });
    new KedaScaledObject(chart, 'b', { target: wired, triggers: [queue.listTrigger({ addressFromEnv: true })] });
    const so = all(synth(chart), 'ScaledObject')[0];
    expect(so.spec.triggers[0].metadata).toMatchObject({ hostFromEnv: 'REDIS_HOST', portFromEnv: 'REDIS_PORT' });
    expect(so.spec.triggers[0].metadata.address).toBeUndefined();
  });

  const invalid: Array<[string, Partial<KedaScaledObjectProps>, RegExp]> = [
    ['min > max', { minReplicas: 5, maxReplicas: 2 }, /'minReplicas' \(5\) must be at most 'maxReplicas' \(2\)/],
    ['max 0', { maxReplicas: 0 }, /'maxReplicas' \(0\) must be at least 1/],
    ['min -1', { minReplicas: -1 }, /'minReplicas' \(-1\) must be at least 0/],
    ['idle >= min', { minReplicas: 1, idleReplicaCount: 1 }, /'idleReplicaCount' \(1\) must be less than 'minReplicas' \(1\)/],
    ['idle with min 0', { idleReplicaCount: 0 }, /'idleReplicaCount' \(0\) must be less than 'minReplicas' \(0\)/],
    ['fallback threshold 0', { fallback: { failureThreshold: 0, replicas: 1 } }, /'fallback.failureThreshold' \(0\) must be at least 1/],
    ['fallback replicas -1', { fallback: { failureThreshold: 1, replicas: -1 } }, /'fallback.replicas' \(-1\) must be at least 0/],
    [
      'fallback with only cpu',
      { fallback: { failureThreshold: 3, replicas: 1 }, triggers: [new CustomTrigger('cpu', { value: '50' })] },
      /'fallback' \("cpu triggers"\) needs at least one trigger other than cpu \/ memory/,
    ],
    ['polling 0', { pollingInterval: Duration.seconds(0) }, /'pollingInterval' \("0s"\) must be a whole number of seconds, at least 1/],
    ['cooldown 1.5 s', { cooldown: Duration.millis(1500) }, /'cooldown' \("1.5s"\) must be a whole number of seconds, at least 0/],
    [
      'policy value 0',
      { scaleDown: { policies: [{ type: ScalingPolicyType.PODS, value: 0, period: Duration.minutes(1) }] } },
      /'scaleDown.policies.value' \(0\) must be at least 1/,
    ],
    ['stabilization 2 h', { scaleDown: { stabilizationWindow: Duration.hours(2) } }, /'scaleDown.stabilizationWindow' \("7200s"\) must be at most 3600 seconds/],
    ['paused false with replicas', { paused: false, pausedReplicas: 1 }, /'pausedReplicas' \(1\) needs 'paused' \(false\) unset or true/],
    ['triggers []', { triggers: [] }, /'triggers' \("\[\]"\) must hold at least one trigger/],
    ['envSourceContainerName', { envSourceContainerName: 'nope' }, /'envSourceContainerName' \("nope"\) must name a container of the target/],
  ];
  test.each(invalid)('rejects %s', (_n, props, message) => {
    expect(() => setup(props)).toThrow(message);
  });

  test('rejects a target with explicit replicas', () => {
    const chart = testChart();
    const d = new kplus.Deployment(chart, 'd', { replicas: 3, containers: [{ image: 'w:1' }] });
    expect(() => new KedaScaledObject(chart, 's', { target: d, triggers: [new CustomTrigger('cron', {})] })).toThrow(/'target' \("test\/d"\) sets 'replicas' \(3\)/);
  });
});
