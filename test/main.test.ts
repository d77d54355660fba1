import { Testing } from 'cdk8s';
import { buildApp } from '../main';

describe('the app', () => {
  const app = buildApp(Testing.app());
  test.each(app.charts.map((c) => [c.node.id, c] as const))('chart %s matches its snapshot', (_id, chart) => {
    expect(Testing.synth(chart)).toMatchSnapshot();
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
    expect(so.spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds).toBeGreaterThanOrEqual(60);
    const worker = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === so.spec.scaleTargetRef.name);
    expect(worker.spec.replicas).toBeUndefined();
    const grace = Number(worker.spec.template.spec.containers[0].env.find((e: any) => e.name === 'GRACE_SECONDS').value);
    expect(worker.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(grace);
    expect(docs.filter((d) => d.kind === 'PodMonitor')).toHaveLength(1);
    const sts = docs.find((d) => d.kind === 'StatefulSet');
    expect(sts.spec.volumeClaimTemplates).toHaveLength(1);
  });
});
