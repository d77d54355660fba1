import { chartRuleViolations, containerRuleViolations, imageProblem, isWorkload, looksSecret, networkPolicyViolations, objectMetaViolations, podTemplatesOf } from './house-rules';

describe('imageProblem', () => {
  test.each(['redis:7.4.2', 'ghcr.io/org/app:0.1.0', 'localhost:5000/app:1', `ghcr.io/org/app@sha256:${'a'.repeat(64)}`, `app:1@sha256:${'b'.repeat(64)}`])(
    '%s is pinned',
    (image) => {
      expect(imageProblem(image)).toBeUndefined();
    },
  );
  test.each<[unknown, string]>([
    ['redis', 'no tag or digest'],
    ['localhost:5000/app', 'no tag or digest'],
    ['redis:latest', ':latest'],
    ['ghcr.io/org/app:LATEST', ':latest'],
    ['redis:', 'empty tag'],
    ['app@sha256:123', 'malformed digest'],
    ['', 'missing'],
    [undefined, 'missing'],
  ])('%s is rejected', (image, fragment) => {
    expect(imageProblem(image)).toContain(fragment);
  });
});

describe('looksSecret', () => {
  test.each(['REDIS_PASSWORD', 'redis_password', 'API_TOKEN', 'CLIENT_SECRET', 'TLS_KEY', 'KEY', 'APIKEY', 'AWS_ACCESS_KEY_ID', 'GCP_CREDENTIALS', 'PASSWD'])(
    '%s looks secret',
    (n) => {
      expect(looksSecret(n)).toBe(true);
    },
  );
  test.each(['REDIS_HOST', 'LIST_NAME', 'KEYSPACE_EVENTS', 'MONKEY', 'REDIS_TLS_CA_FILE', 'PASSWORD_FILE', 'TOKEN_PATH', 'REDISCLI_AUTH', 'CONSISTENCY_KEY_PREFIX'])(
    '%s does not',
    (n) => {
      expect(looksSecret(n)).toBe(false);
    },
  );
});

function pod(container: Record<string, unknown>, init: Record<string, unknown>[] = []): unknown {
  return {
    containers: [{ name: 'app', image: 'app:1', resources: { requests: { cpu: '10m', memory: '16Mi' } }, ...container }],
    initContainers: init,
  };
}

describe('containerRuleViolations', () => {
  test('a conforming pod has none', () => {
    expect(
      containerRuleViolations(
        pod({
          env: [
            { name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: 's', key: 'password' } } },
            { name: 'REDIS_HOST', value: 'redis' },
            { name: 'REDIS_TLS_CA_FILE', value: '/etc/ca.pem' },
          ],
        }),
      ),
    ).toEqual([]);
  });

  test('requests must name cpu and memory, init containers included', () => {
    expect(containerRuleViolations(pod({ resources: { limits: { cpu: '1', memory: '1Gi' } } }, [{ name: 'init', image: 'i:1', resources: { requests: { cpu: '1m' } } }]))).toEqual([
      'containers[0] "app": resources.requests.cpu must be set',
      'containers[0] "app": resources.requests.memory must be set',
      'initContainers[0] "init": resources.requests.memory must be set',
    ]);
  });

  test('unpinned images are reported', () => {
    expect(containerRuleViolations(pod({ image: 'redis:latest' }))).toEqual(['containers[0] "app": image "redis:latest" uses :latest (pin a version)']);
  });

  test('a secret-looking env var with a literal value is reported', () => {
    expect(containerRuleViolations(pod({ env: [{ name: 'REDIS_PASSWORD', value: 'hunter2' }] }))).toEqual([
      'containers[0] "app": env[0] REDIS_PASSWORD has a literal value; take it from a Secret (valueFrom.secretKeyRef)',
    ]);
  });

  test('a secret-looking env var from a ConfigMap is reported', () => {
    expect(containerRuleViolations(pod({ env: [{ name: 'API_TOKEN', valueFrom: { configMapKeyRef: { name: 'c', key: 'k' } } }] }))).toEqual([
      'containers[0] "app": env[0] API_TOKEN looks secret but does not come from valueFrom.secretKeyRef',
    ]);
  });
});

describe('podTemplatesOf', () => {
  const spec = { containers: [] };
  test.each<[string, string, Record<string, unknown>, string]>([
    ['v1', 'Pod', { spec }, 'spec'],
    ['apps/v1', 'Deployment', { spec: { template: { spec } } }, 'spec.template.spec'],
    ['apps/v1', 'StatefulSet', { spec: { template: { spec } } }, 'spec.template.spec'],
    ['apps/v1', 'DaemonSet', { spec: { template: { spec } } }, 'spec.template.spec'],
    ['batch/v1', 'Job', { spec: { template: { spec } } }, 'spec.template.spec'],
    ['batch/v1', 'CronJob', { spec: { jobTemplate: { spec: { template: { spec } } } } }, 'spec.jobTemplate.spec.template.spec'],
    ['keda.sh/v1alpha1', 'ScaledJob', { spec: { jobTargetRef: { template: { spec } } } }, 'spec.jobTargetRef.template.spec'],
  ])('%s %s', (apiVersion, kind, rest, p) => {
    expect(podTemplatesOf({ apiVersion, kind, ...rest })).toEqual([{ path: p, podSpec: spec }]);
  });

  test('a workload without its template yields an undefined pod spec (which the checks then report)', () => {
    expect(podTemplatesOf({ apiVersion: 'apps/v1', kind: 'Deployment', spec: {} })).toEqual([{ path: 'spec.template.spec', podSpec: undefined }]);
  });

  test('other kinds have none', () => {
    expect(podTemplatesOf({ apiVersion: 'v1', kind: 'ConfigMap' })).toEqual([]);
    expect(isWorkload({ apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject' })).toBe(false);
  });
});

describe('chartRuleViolations', () => {
  const deployment = (name: string, replicas?: number) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: { ...(replicas === undefined ? {} : { replicas }) },
  });
  const statefulSet = (name: string, replicas?: number) => ({ ...deployment(name, replicas), kind: 'StatefulSet' });
  const scaledObject = (target: Record<string, unknown>, triggers: unknown[] = [], extra: Record<string, unknown> = {}) => ({
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: { name: 'so' },
    spec: { scaleTargetRef: target, triggers, ...extra },
  });
  const triggerAuth = { apiVersion: 'keda.sh/v1alpha1', kind: 'TriggerAuthentication', metadata: { name: 'auth' }, spec: {} };

  test('a scaled Deployment without replicas, with its TriggerAuthentication, is fine', () => {
    expect(
      chartRuleViolations([deployment('worker'), triggerAuth, scaledObject({ name: 'worker' }, [{ type: 'redis', metadata: {}, authenticationRef: { name: 'auth' } }])]),
    ).toEqual([]);
  });

  test('the target of a ScaledObject (kind defaults to Deployment) must not set replicas', () => {
    expect(chartRuleViolations([deployment('worker', 2), scaledObject({ name: 'worker' })])).toEqual([
      'Deployment/worker is scaled by ScaledObject/so and must not set spec.replicas (has 2)',
    ]);
  });

  test('also replicas: 0 and StatefulSet targets', () => {
    expect(chartRuleViolations([statefulSet('redis', 0), scaledObject({ kind: 'StatefulSet', name: 'redis' })])).toEqual([
      'StatefulSet/redis is scaled by ScaledObject/so and must not set spec.replicas (has 0)',
    ]);
  });

  test('only the targeted kind is matched', () => {
    expect(chartRuleViolations([statefulSet('worker', 1), deployment('worker'), scaledObject({ name: 'worker' })])).toEqual([]);
  });

  test('a target missing from the chart is reported', () => {
    expect(chartRuleViolations([deployment('other'), scaledObject({ name: 'worker' })])).toEqual(['ScaledObject/so: target Deployment/worker (apps/v1) is not in this chart']);
  });

  test('minReplicaCount above maxReplicaCount (defaults: 0 and 100) is reported', () => {
    expect(chartRuleViolations([deployment('worker'), scaledObject({ name: 'worker' }, [], { minReplicaCount: 101 })])).toEqual([
      'ScaledObject/so: minReplicaCount (101) must be at most maxReplicaCount (100)',
    ]);
  });
});

describe('networkPolicyViolations', () => {
  const workload = (kind: string, name: string, labels: Record<string, string>, env: unknown[] = []) => {
    const template = { metadata: { labels }, spec: { containers: [{ name: 'c', image: 'c:1', env }] } };
    return kind === 'CronJob'
      ? { apiVersion: 'batch/v1', kind, metadata: { name }, spec: { jobTemplate: { spec: { template } } } }
      : { apiVersion: 'apps/v1', kind, metadata: { name }, spec: { template } };
  };
  const redis = workload('StatefulSet', 'redis', { app: 'redis' });
  const service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'redis' }, spec: { selector: { app: 'redis' }, ports: [{ port: 6379, targetPort: 6379 }] } };
  const client = (name: string, kind = 'Deployment') => workload(kind, name, { app: name }, [{ name: 'REDIS_HOST', value: 'redis' }]);
  const policy = (from: unknown[], target: Record<string, string> = { app: 'redis' }) => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'redis' },
    spec: { podSelector: { matchLabels: target }, ingress: [{ from, ports: [{ port: 6379, protocol: 'TCP' }] }] },
  });
  const keda = { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'keda' } } };

  test('clients admitted by their pod labels (a CronJob too) pass', () => {
    expect(
      networkPolicyViolations([
        redis,
        service,
        client('worker'),
        client('reaper', 'CronJob'),
        policy([{ podSelector: { matchLabels: { app: 'worker' } } }, { podSelector: { matchLabels: { app: 'reaper' } } }, keda]),
      ]),
    ).toEqual([]);
  });

  test('a policy on no pods, a selector of no pods and a client left out are reported', () => {
    expect(networkPolicyViolations([redis, service, policy([keda], { app: 'nothing' })])).toEqual(['NetworkPolicy/redis: spec.podSelector selects no pods of this chart']);
    expect(networkPolicyViolations([redis, service, client('worker'), policy([{ podSelector: { matchLabels: { app: 'wroker' } } }, keda])])).toEqual([
      'NetworkPolicy/redis: ingress[0].from[0] selects no pods of this chart ({"matchLabels":{"app":"wroker"}})',
      'NetworkPolicy/redis: Deployment/worker connects to Service/redis but no ingress rule lets its pods in',
    ]);
  });
});

describe('objectMetaViolations', () => {
  test('valid metadata passes', () => {
    expect(
      objectMetaViolations({
        kind: 'Deployment',
        metadata: { name: 'redis.cache-1', namespace: 'demo', labels: { 'app.kubernetes.io/name': 'x' }, annotations: { a: 'any text' } },
      }),
    ).toEqual([]);
  });
  test.each<[Record<string, unknown>, string]>([
    [{ kind: 'Deployment', metadata: {} }, 'metadata.name is missing'],
    [{ kind: 'Deployment' }, 'metadata is missing'],
    [{ kind: 'Deployment', metadata: { name: 'Redis_Cache' } }, 'must be a DNS-1123 subdomain'],
    [{ kind: 'Service', metadata: { name: 'redis.cache' } }, 'must be a DNS-1035 label'],
    [{ kind: 'Service', metadata: { name: '1redis' } }, 'must be a DNS-1035 label'],
    [{ kind: 'CronJob', metadata: { name: 'a'.repeat(53) } }, 'longer than 52'],
    [{ kind: 'ConfigMap', metadata: { name: 'c', namespace: 'Demo' } }, 'must be a DNS-1123 label'],
    [{ kind: 'ConfigMap', metadata: { name: 'c', labels: { tier: 1 } } }, 'metadata.labels["tier"] must be a string (is 1)'],
    [{ kind: 'ConfigMap', metadata: { name: 'c', labels: { tier: 'not ok' } } }, 'is not a valid label value'],
    [{ kind: 'ConfigMap', metadata: { name: 'c', labels: { 'a/b/c': 'x' } } }, 'is not a qualified name'],
    [{ kind: 'ConfigMap', metadata: { name: 'c', annotations: { note: true } } }, 'metadata.annotations["note"] must be a string'],
    [{ kind: 'ConfigMap', metadata: { name: 'c', annotations: 'x' } }, 'metadata.annotations must be a map of strings'],
  ])('%j', (doc, fragment) => {
    expect(objectMetaViolations(doc)).toEqual(expect.arrayContaining([expect.stringContaining(fragment)]));
  });
});
