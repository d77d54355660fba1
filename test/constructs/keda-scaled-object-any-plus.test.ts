import { ApiObject, App, Chart, Testing } from 'cdk8s';
import * as plus27 from 'cdk8s-plus-27';
import * as plus33 from 'cdk8s-plus-33';
import { CustomTrigger, IScalableWorkload, KedaScaledObject, RedisQueue } from '../../constructs';
import { isScalableWorkload } from '../../constructs/private/scalable-workload';
import { referenceViolations } from '../manifests/references';
import { only, synth, testChart } from './helpers';

// A workload from another cdk8s-plus major is recognised by what it can do, never by our copy's classes.
describe('KedaScaledObject with a cdk8s-plus-33 target', () => {
  test('a plus-33 Deployment is no instance of our plus-27 class, yet is scaled and loses `replicas`', () => {
    const chart = testChart();
    const queue = new RedisQueue(chart, 'queue');
    const worker = new plus33.Deployment(chart, 'worker', {
      containers: [{ image: 'example/worker:1.0', envVariables: queue.connection.envVariables(), resources: {} }],
    });
    expect(worker instanceof plus27.Deployment).toBe(false);
    new KedaScaledObject(chart, 'scaler', { target: worker, triggers: [queue.listTrigger({ addressFromEnv: true })] });
    const docs = synth(chart);
    const deployment = only(docs, 'Deployment');
    expect(deployment.spec.replicas).toBeUndefined();
    expect(only(docs, 'ScaledObject').spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
    expect(referenceViolations(docs)).toEqual([]);
  });

  test('a plus-33 StatefulSet too', () => {
    const chart = testChart();
    const set = new plus33.StatefulSet(chart, 'set', { containers: [{ image: 'example/worker:1.0', portNumber: 8080 }] });
    new KedaScaledObject(chart, 'scaler', { target: set, triggers: [new CustomTrigger('cron', { timezone: 'UTC', start: '0 8 * * *', end: '0 18 * * *', desiredReplicas: '2' })] });
    const sts = synth(chart).find((d) => d.kind === 'StatefulSet')!;
    expect(sts.spec.replicas).toBeUndefined();
  });

  test('a plus-33 Deployment with explicit replicas is rejected', () => {
    const chart = testChart();
    const worker = new plus33.Deployment(chart, 'worker', { replicas: 2, containers: [{ image: 'example/worker:1.0' }] });
    expect(() => new KedaScaledObject(chart, 'scaler', { target: worker, triggers: [new CustomTrigger('cron', {})] })).toThrow(
      "test/scaler: 'target' (\"test/worker\") sets 'replicas' (2); an autoscaled workload must not, or GitOps and the HPA fight over it",
    );
  });

  test('the env check reads a plus-33 container', () => {
    const chart = testChart();
    const queue = new RedisQueue(chart, 'queue');
    const worker = new plus33.Deployment(chart, 'worker', { containers: [{ image: 'example/worker:1.0' }] });
    expect(() => new KedaScaledObject(chart, 'scaler', { target: worker, triggers: [queue.listTrigger({ addressFromEnv: true })] })).toThrow(
      /'target' \(""\) must define REDIS_HOST in its container env/,
    );
  });
});

describe('a workload that would still write `replicas`', () => {
  /** Looks scalable but ignores the mark, as a broken or future major might. */
  function stubborn(chart: Chart): IScalableWorkload {
    const inner = new plus27.Deployment(chart, 'stubborn', { containers: [{ image: 'example/worker:1.0' }] });
    return Object.assign(Object.create(inner), { markHasAutoscaler: () => undefined, apiObject: ApiObject.of(inner) }) as IScalableWorkload;
  }

  test('is caught at synth, before YAML is written', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'test', { namespace: 'ns' });
    new KedaScaledObject(chart, 'scaler', { target: stubborn(chart), triggers: [new CustomTrigger('cron', {})] });
    expect(() => app.synth()).toThrow("test/scaler: 'target' (\"test/stubborn\") still writes 'replicas' (2) after markHasAutoscaler()");
  });

  test('a kind that no ScaledObject can scale by class is rejected', () => {
    const chart = new Chart(new App(), 'test', { namespace: 'ns' });
    const inner = new plus27.Deployment(chart, 'd', { containers: [{ image: 'example/worker:1.0' }] });
    const job = Object.assign(Object.create(inner), { toScalingTarget: () => ({ kind: 'Job', apiVersion: 'batch/v1', name: 'j', containers: [] }) });
    expect(() => new KedaScaledObject(chart, 'scaler', { target: job, triggers: [new CustomTrigger('cron', {})] })).toThrow(
      'test/scaler: \'target\' ("Job test/d") must be a Deployment or StatefulSet',
    );
  });
});

test('isScalableWorkload tells workloads from references', () => {
  const chart = testChart();
  expect(isScalableWorkload(new plus33.Deployment(chart, 'a', { containers: [{ image: 'x:1' }] }))).toBe(true);
  expect(isScalableWorkload(new plus27.StatefulSet(chart, 'b', { containers: [{ image: 'x:1', portNumber: 1 }] }))).toBe(true);
  expect(isScalableWorkload({ kind: 'Deployment', name: 'x' })).toBe(false);
});
