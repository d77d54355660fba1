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
