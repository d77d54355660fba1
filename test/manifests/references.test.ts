import { inClusterService, referenceViolations, unnamedObjects } from './references';

const ns = 'app';
const meta = (name?: string) => ({ ...(name ? { name } : {}), namespace: ns });
const service = (name: string, port = 6379) => ({ apiVersion: 'v1', kind: 'Service', metadata: meta(name), spec: { ports: [{ port }], selector: { app: 'redis' } } });
const deployment = (name: string, pod: Record<string, unknown>, labels: Record<string, string> = { app: 'redis' }) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: meta(name),
  spec: { template: { metadata: { labels }, spec: pod } },
});
const container = (extra: Record<string, unknown> = {}) => ({ name: 'c', image: 'x:1', ...extra });

describe('referenceViolations', () => {
  test('a resolved set has none', () => {
    const docs = [
      service('redis'),
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('conf') },
      deployment('worker', {
        volumes: [{ name: 'conf', configMap: { name: 'conf' } }],
        containers: [
          container({
            volumeMounts: [{ name: 'conf', mountPath: '/c' }],
            env: [{ name: 'REDIS_HOST', value: `redis.${ns}.svc` }],
            ports: [{ name: 'metrics', containerPort: 9090 }],
          }),
        ],
      }),
      { apiVersion: 'keda.sh/v1alpha1', kind: 'TriggerAuthentication', metadata: meta('auth'), spec: { secretTargetRef: [{ parameter: 'password', name: 'pw', key: 'k' }] } },
      {
        apiVersion: 'keda.sh/v1alpha1',
        kind: 'ScaledObject',
        metadata: meta('so'),
        spec: { scaleTargetRef: { name: 'worker' }, triggers: [{ type: 'redis', metadata: { address: `redis.${ns}.svc:6379` }, authenticationRef: { name: 'auth' } }] },
      },
      {
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'PodMonitor',
        metadata: meta('pm'),
        spec: { selector: { matchLabels: { app: 'redis' } }, podMetricsEndpoints: [{ port: 'metrics' }] },
      },
    ];
    expect(referenceViolations(docs, { externalSecrets: ['pw'] })).toEqual([]);
  });

  test('each broken reference is named', () => {
    const docs = [
      service('redis'),
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta() },
      deployment(
        'worker',
        {
          volumes: [{ name: 'conf', configMap: { name: 'conf-c8d039ba' } }],
          containers: [
            container({
              volumeMounts: [{ name: 'data', mountPath: '/d' }],
              env: [
                { name: 'REDIS_HOST', value: `redis-c835ee85.${ns}.svc` },
                { name: 'P', valueFrom: { secretKeyRef: { name: 'other', key: 'k' } } },
              ],
            }),
          ],
        },
        { app: 'worker' },
      ),
      {
        apiVersion: 'keda.sh/v1alpha1',
        kind: 'ScaledObject',
        metadata: meta('so'),
        spec: {
          scaleTargetRef: { kind: 'StatefulSet', name: 'worker' },
          triggers: [{ type: 'redis', metadata: { address: `redis.${ns}.svc:6380` }, authenticationRef: { name: 'auth' } }],
        },
      },
      { apiVersion: 'monitoring.coreos.com/v1', kind: 'PodMonitor', metadata: meta('pm'), spec: { selector: { matchLabels: { app: 'nope' } } } },
    ];
    expect(referenceViolations(docs, { externalSecrets: ['pw'] })).toEqual([
      'ConfigMap #1 (namespace "app"): metadata.name is missing',
      'Deployment/worker spec.template.spec: volume "conf" names ConfigMap/conf-c8d039ba, which is not in the output',
      'Deployment/worker spec.template.spec container "c": volumeMount "data" names no volume of the pod',
      'Deployment/worker spec.template.spec container "c": env REDIS_HOST "redis-c835ee85.app.svc" names Service/redis-c835ee85 in namespace "app", which is not in the output',
      'Deployment/worker spec.template.spec container "c": env P names Secret/other, which is not in the output nor expected',
      'Service/redis: spec.selector {"app":"redis"} selects the pods of no workload in the output',
      'ScaledObject/so: spec.scaleTargetRef names StatefulSet/worker, which is not in the output',
      'ScaledObject/so: triggers[0].authenticationRef names TriggerAuthentication/auth, which is not in the output',
      'ScaledObject/so: triggers[0] port 6380 is no port of Service/redis',
      'PodMonitor/pm: spec.selector.matchLabels {"app":"nope"} selects the pods of no workload in the output',
    ]);
  });

  test("externalSecrets 'any' accepts every Secret name; a Secret in the set always resolves", () => {
    const pod = { containers: [container({ env: [{ name: 'P', valueFrom: { secretKeyRef: { name: 'mine', key: 'k' } } }] })] };
    expect(referenceViolations([deployment('w', pod)], { externalSecrets: 'any' })).toEqual([]);
    expect(referenceViolations([deployment('w', pod), { apiVersion: 'v1', kind: 'Secret', metadata: meta('mine') }])).toEqual([]);
  });
});

test('an authenticationRef to a ClusterTriggerAuthentication is not looked for in the set', () => {
  const so = {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: meta('so'),
    spec: {
      scaleTargetRef: { name: 'w' },
      triggers: [
        { type: 'redis', metadata: {}, authenticationRef: { name: 'global', kind: 'ClusterTriggerAuthentication' } },
        { type: 'redis', metadata: {}, authenticationRef: { name: 'nope' } },
      ],
    },
  };
  expect(referenceViolations([deployment('w', { containers: [container()] }), so])).toEqual([
    'ScaledObject/so: triggers[1].authenticationRef names TriggerAuthentication/nope, which is not in the output',
  ]);
});

test('unnamedObjects', () => {
  expect(
    unnamedObjects([
      { kind: 'Service', metadata: { name: '' } },
      { kind: 'Service', metadata: { name: 'a' } },
    ]),
  ).toEqual(['Service #0 (namespace null): metadata.name is missing']);
});

test.each([
  ['redis.app.svc', { name: 'redis', namespace: 'app' }],
  ['redis.app.svc.cluster.local', { name: 'redis', namespace: 'app' }],
  ['redis', { name: 'redis', namespace: 'here' }],
  ['localhost', undefined],
  ['cache.example.com', undefined],
  ['10.0.0.1', undefined],
])('inClusterService(%s)', (host, expected) => {
  expect(inClusterService(host, 'here')).toEqual(expected);
});
