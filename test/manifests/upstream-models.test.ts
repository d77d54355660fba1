import { CoreFieldChecker, coreModelModule } from './core-fields';
import { modelFor, modelModuleFor, upstreamErrors } from './upstream-models';

const deployment = (spec: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'worker', labels: { 'app.kubernetes.io/name': 'worker' } },
  spec: {
    selector: { matchLabels: { app: 'worker' } },
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } },
    template: {
      metadata: { labels: { app: 'worker' } },
      spec: {
        containers: [
          {
            name: 'worker',
            image: 'app:1',
            ports: [{ containerPort: 8080, name: 'http' }],
            resources: { requests: { cpu: '10m', memory: 64, 'nvidia.com/gpu': '1' } },
            securityContext: { runAsNonRoot: true, capabilities: { drop: ['ALL'] } },
          },
        ],
      },
    },
    ...spec,
  },
});

const scaledJob = (spec: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: 'keda.sh/v1alpha1',
  kind: 'ScaledJob',
  metadata: { name: 'consumer' },
  spec: { jobTargetRef: { template: { spec: { containers: [{ name: 'c', image: 'app:1' }] } } }, triggers: [{ type: 'redis', metadata: { listName: 'events' } }], ...spec },
});

describe('modelFor', () => {
  test.each([
    ['v1', 'Service', 'kubernetes-models/v1/Service'],
    ['v1', 'ConfigMap', 'kubernetes-models/v1/ConfigMap'],
    ['apps/v1', 'StatefulSet', 'kubernetes-models/apps/v1/StatefulSet'],
    ['batch/v1', 'CronJob', 'kubernetes-models/batch/v1/CronJob'],
    ['policy/v1', 'PodDisruptionBudget', 'kubernetes-models/policy/v1/PodDisruptionBudget'],
    ['rbac.authorization.k8s.io/v1', 'Role', 'kubernetes-models/rbac.authorization.k8s.io/v1/Role'],
    ['keda.sh/v1alpha1', 'ScaledJob', '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledJob'],
    ['keda.sh/v1alpha1', 'ScaledObject', '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject'],
    ['keda.sh/v1alpha1', 'TriggerAuthentication', '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication'],
    ['keda.sh/v1alpha1', 'ClusterTriggerAuthentication', '@kubernetes-models/keda/keda.sh/v1alpha1/ClusterTriggerAuthentication'],
    ['monitoring.coreos.com/v1', 'PodMonitor', '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor'],
    ['monitoring.coreos.com/v1', 'ServiceMonitor', '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor'],
    ['monitoring.coreos.com/v1', 'PrometheusRule', '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule'],
  ])('%s %s comes from %s', (apiVersion, kind, specifier) => {
    expect(modelModuleFor(apiVersion, kind)).toBe(specifier);
    const cls = modelFor(apiVersion, kind);
    expect(cls?.apiVersion).toBe(apiVersion);
    expect(cls?.kind).toBe(kind);
  });

  test.each([
    ['v1', 'PodSpec'], // a nested type, not a kind
    ['apps/v1', 'NoSuchKind'],
    ['apps/v2', 'Deployment'],
    ['keda.sh/v1alpha1', 'ScaledThing'],
    ['example.com/v1', 'Widget'],
    ['v1', '../Service'],
    ['not a version', 'Service'],
  ])('%s %s has no model', (apiVersion, kind) => {
    expect(modelFor(apiVersion, kind)).toBeUndefined();
  });
});

describe('upstreamErrors', () => {
  test('valid documents pass', () => {
    expect(upstreamErrors(deployment())).toEqual([]);
    expect(upstreamErrors(scaledJob())).toEqual([]);
  });

  test('a kind without a schema fails instead of being skipped', () => {
    expect(upstreamErrors({ apiVersion: 'example.com/v1', kind: 'Widget' })).toEqual([expect.stringContaining('no upstream schema for example.com/v1 Widget')]);
    expect(upstreamErrors({ kind: 'Deployment' })).toEqual(['apiVersion and kind must be strings']);
  });

  test('a wrong type in a core object fails', () => {
    expect(upstreamErrors(deployment({ replicas: 'three' }))).toEqual([expect.stringContaining('/spec/replicas')]);
  });

  test('a missing required field in a core object fails', () => {
    const d = deployment();
    delete (d.spec as Record<string, unknown>).selector;
    expect(upstreamErrors(d)).toEqual([expect.stringContaining('selector')]);
  });

  test('an enum violation in a core object fails', () => {
    expect(upstreamErrors(deployment({ strategy: { type: 'Sideways' } }))).not.toEqual([]);
  });

  test('a wrong type in a ScaledJob fails', () => {
    expect(upstreamErrors(scaledJob({ rollout: 'gradual' }))).toEqual([expect.stringContaining('/spec/rollout')]);
    expect(upstreamErrors(scaledJob({ triggers: [{ type: 'redis', metadata: { listLength: 5 } }] }))).toEqual([expect.stringContaining('/spec/triggers/0/metadata/listLength')]);
  });

  test('a wrong type in a PodMonitor fails', () => {
    expect(
      upstreamErrors({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PodMonitor', metadata: { name: 'm' }, spec: { selector: {}, podMetricsEndpoints: 'metrics' } }),
    ).not.toEqual([]);
  });
});

describe('CoreFieldChecker (unknown fields of core objects)', () => {
  const checker = new CoreFieldChecker(['kubernetes-models/apps/v1/Deployment', 'kubernetes-models/v1/ConfigMap']);

  test('a valid Deployment has none (maps, int-or-string and quantities included)', () => {
    expect(checker.unknownFields(deployment())).toEqual([]);
  });

  test('unknown fields are reported at every depth', () => {
    const d = deployment({ replica: 1 }) as any;
    d.metadata.label = {};
    const c = d.spec.template.spec.containers[0];
    c.resource = {};
    c.securityContext.runAsNonroot = true;
    c.ports[0].targetPort = 8080;
    d.spec.strategy.rollingUpdate.maxSurg = 1;
    expect(checker.unknownFields(d).sort()).toEqual([
      '.metadata.label',
      '.spec.replica',
      '.spec.strategy.rollingUpdate.maxSurg',
      '.spec.template.spec.containers[0].ports[0].targetPort',
      '.spec.template.spec.containers[0].resource',
      '.spec.template.spec.containers[0].securityContext.runAsNonroot',
    ]);
  });

  test('a ConfigMap knows data/binaryData/immutable only', () => {
    expect(checker.unknownFields({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'b' }, immutable: true })).toEqual([]);
    expect(checker.unknownFields({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, spec: { a: 'b' } })).toEqual(['.spec']);
  });

  test('only kubernetes-models kinds are handled', () => {
    expect(coreModelModule(scaledJob())).toBeUndefined();
    expect(coreModelModule(deployment())).toBe('kubernetes-models/apps/v1/Deployment');
    expect(() => checker.unknownFields(scaledJob())).toThrow('not a kubernetes-models kind');
  });
});
