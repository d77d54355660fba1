import { ChildProcess, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import Redis from 'ioredis';
import { AppendFsync, REDIS_CLUSTER_BUS_PORT, REDIS_EXPORTER_UID, RedisCluster } from '../../constructs';
import { ClusterCommands, Commands, ConsistencyMetrics, Env } from '../../runtime/contract';
import { containerRuleViolations, chartRuleViolations, objectMetaViolations, podTemplatesOf } from '../manifests/house-rules';
import { CoreFieldChecker, coreModelModule } from '../manifests/core-fields';
import { restrictedViolations } from '../manifests/pod-security';
import { referenceViolations } from '../manifests/references';
import { upstreamErrors } from '../manifests/upstream-models';
import { runCli, startCli, waitFor } from '../support/cli';
import { freePort, launch, stopChild } from '../support/redis-server';
import { all, Doc, envOf, only, synth, testChart } from './helpers';

function secretRef(chart: any, key = 'password') {
  return { secret: kplus.Secret.fromSecretName(chart, 'pw', 'redis-auth'), key };
}

/** The one Service of each kind: the headless one has clusterIP None. */
function services(docs: Doc[]) {
  const list = all(docs, 'Service');
  expect(list).toHaveLength(2);
  return { headless: list.find((s) => s.spec.clusterIP === 'None')!, client: list.find((s) => s.spec.clusterIP !== 'None')! };
}

describe('RedisCluster', () => {
  test('defaults: 3 masters x (1 + 1 replica) = 6 pods in cluster mode, AOF and nodes.conf on a 1Gi claim each', () => {
    const chart = testChart();
    const cluster = new RedisCluster(chart, 'cluster');
    const docs = synth(chart);
    const sts = only(docs, 'StatefulSet');
    expect([cluster.masters, cluster.replicasPerMaster, cluster.pods]).toEqual([3, 1, 6]);
    // Replicas and partition belong to the operations tool (the create Job grows the set to 6 and holds the
    // partition at 6): a GitOps tool re-applying this manifest reverts neither.
    expect(sts.spec.replicas).toBeUndefined();
    expect(sts.spec.podManagementPolicy).toBe('Parallel');
    expect(sts.spec.updateStrategy).toEqual({ type: 'RollingUpdate' });
    expect(sts.spec.volumeClaimTemplates).toEqual([{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }]);
    expect(only(docs, 'ConfigMap').data['redis.conf']).toBe(
      [
        '# Rendered by cdk8s-redis-keda RedisCluster; the password, masterauth and the announced hostname are given at start.',
        'bind * -::*',
        'protected-mode no',
        'port 6379',
        'dir /data',
        'maxmemory 384mb',
        'maxmemory-policy noeviction',
        'appendonly yes',
        'appendfsync everysec',
        'cluster-enabled yes',
        'cluster-config-file /data/nodes.conf',
        'cluster-port 16379',
        'cluster-node-timeout 5000',
        'cluster-preferred-endpoint-type hostname',
        '',
      ].join('\n'),
    );
    const { headless, client } = services(docs);
    expect(sts.spec.serviceName).toBe(headless.metadata.name);
    expect(headless.spec).toMatchObject({
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      ports: [
        { name: 'redis', port: 6379, targetPort: 6379 },
        { name: 'bus', port: 16379, targetPort: 16379 },
      ],
      selector: sts.spec.selector.matchLabels,
    });
    expect(client.spec).toMatchObject({ type: 'ClusterIP', ports: [{ name: 'redis', port: 6379, targetPort: 6379 }], selector: sts.spec.selector.matchLabels });
    expect(client.spec.publishNotReadyAddresses).toBeUndefined();
    expect(cluster.connection.address).toBe(`${client.metadata.name}.test-ns.svc:6379`);
    expect(cluster.seedAddresses).toEqual([0, 1, 2, 3, 4, 5].map((i) => `${sts.metadata.name}-${i}.${headless.metadata.name}.test-ns.svc:6379`));
    expect(REDIS_CLUSTER_BUS_PORT).toBe(16379);
  });

  test('each node announces its stable DNS name; the password reaches requirepass and masterauth from the Secret only', () => {
    const chart = testChart();
    new RedisCluster(chart, 'cluster', { name: 'rc', password: secretRef(chart) });
    const docs = synth(chart);
    const redis = only(docs, 'StatefulSet').spec.template.spec.containers[0];
    expect(redis.command).toEqual(['redis-server']);
    expect(redis.args).toEqual([
      '/etc/redis/redis.conf',
      '--cluster-announce-hostname',
      '$(POD_NAME).rc-headless.$(POD_NAMESPACE).svc',
      '--requirepass',
      '$(REDIS_PASSWORD)',
      '--masterauth',
      '$(REDIS_PASSWORD)',
    ]);
    const password = { secretKeyRef: { name: 'redis-auth', key: 'password' } };
    expect(envOf(redis)).toEqual({
      POD_NAME: { fieldRef: { fieldPath: 'metadata.name' } },
      POD_NAMESPACE: { fieldRef: { fieldPath: 'metadata.namespace' } },
      REDIS_PASSWORD: password,
      REDISCLI_AUTH: password,
    });
    expect(redis.ports).toEqual([
      { containerPort: 6379, name: 'redis' },
      { containerPort: 16379, name: 'bus' },
    ]);
    // The probe AUTHs through REDISCLI_AUTH; liveness is TCP (a node loading its AOF answers LOADING).
    expect(redis.readinessProbe.exec.command).toEqual(['sh', '-c', 'redis-cli -p 6379 ping | grep -q PONG']);
    expect(redis.livenessProbe.tcpSocket).toEqual({ port: 6379 });
    expect(redis.volumeMounts).toEqual([
      { name: 'config', mountPath: '/etc/redis', readOnly: true },
      { name: 'data', mountPath: '/data' },
    ]);
    expect(only(docs, 'ConfigMap').data['redis.conf']).not.toMatch(/^(requirepass|masterauth)\b/m);
  });

  test('without a password: no requirepass, no masterauth', () => {
    const chart = testChart();
    new RedisCluster(chart, 'cluster', { name: 'rc' });
    const docs = synth(chart);
    const redis = only(docs, 'StatefulSet').spec.template.spec.containers[0];
    expect(redis.args).toEqual(['/etc/redis/redis.conf', '--cluster-announce-hostname', '$(POD_NAME).rc-headless.$(POD_NAMESPACE).svc']);
    expect(Object.keys(envOf(redis))).toEqual(['POD_NAME', 'POD_NAMESPACE']);
    expect(Object.keys(envOf(only(docs, 'Job').spec.template.spec.containers[0]))).not.toContain(Env.REDIS_PASSWORD);
  });

  test('masters, replicas, node timeout and persistence are props; the pod count, partition and config follow', () => {
    const chart = testChart();
    const cluster = new RedisCluster(chart, 'cluster', {
      masters: 4,
      replicasPerMaster: 2,
      nodeTimeout: Duration.millis(2500),
      persistence: { size: Size.gibibytes(5), storageClassName: 'fast', appendFsync: AppendFsync.ALWAYS },
    });
    const docs = synth(chart);
    const sts = only(docs, 'StatefulSet');
    expect(cluster.pods).toBe(12);
    expect(sts.spec.replicas).toBeUndefined();
    expect(sts.spec.updateStrategy.rollingUpdate).toBeUndefined();
    expect(sts.spec.volumeClaimTemplates[0].spec).toEqual({ accessModes: ['ReadWriteOnce'], storageClassName: 'fast', resources: { requests: { storage: '5Gi' } } });
    const conf = only(docs, 'ConfigMap').data['redis.conf'];
    expect(conf).toContain('\nappendfsync always\n');
    expect(conf).toContain('\ncluster-node-timeout 2500\n');
    const env = envOf(only(docs, 'Job').spec.template.spec.containers[0]);
    expect(env[Env.CLUSTER_REPLICAS_PER_MASTER]).toBe('2');
    expect(env[Env.CLUSTER_NODES].split(',')).toHaveLength(12);
  });

  test('a PodDisruptionBudget of one pod, and a preferred spread over nodes', () => {
    const chart = testChart();
    new RedisCluster(chart, 'cluster');
    const docs = synth(chart);
    const sts = only(docs, 'StatefulSet');
    expect(only(docs, 'PodDisruptionBudget').spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: sts.spec.selector.matchLabels } });
    expect(sts.spec.template.spec.affinity).toEqual({
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 100, podAffinityTerm: { labelSelector: { matchLabels: sts.spec.selector.matchLabels }, namespaces: ['test-ns'], topologyKey: 'kubernetes.io/hostname' } },
        ],
      },
    });
  });

  test('the operations RBAC: this StatefulSet and its scale, the pods, the claims of its ordinals up to maxMasters', () => {
    const chart = testChart();
    new RedisCluster(chart, 'cluster', { name: 'rc', operations: { maxMasters: 4 } });
    const docs = synth(chart);
    expect(only(docs, 'ServiceAccount')).toMatchObject({ metadata: { name: 'rc-ops' }, automountServiceAccountToken: false });
    expect(only(docs, 'Role')).toEqual({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'rc-ops', namespace: 'test-ns' },
      rules: [
        { apiGroups: ['apps'], resources: ['statefulsets', 'statefulsets/scale'], resourceNames: ['rc'], verbs: ['get', 'patch'] },
        { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['persistentvolumeclaims'], resourceNames: [0, 1, 2, 3, 4, 5, 6, 7].map((i) => `data-rc-${i}`), verbs: ['delete'] },
      ],
    });
    expect(only(docs, 'RoleBinding')).toMatchObject({
      metadata: { name: 'rc-ops' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'rc-ops' },
      subjects: [{ kind: 'ServiceAccount', name: 'rc-ops', namespace: 'test-ns' }],
    });
  });

  test('the create Job grows the StatefulSet as the ops account, then runs `cluster create` over every pod by DNS name, retried', () => {
    const chart = testChart();
    const cluster = new RedisCluster(chart, 'cluster', { name: 'rc', password: secretRef(chart) });
    const docs = synth(chart);
    const job = only(docs, 'Job');
    expect(job.metadata.name).toBe('rc-create');
    expect(job.spec).toMatchObject({ backoffLimit: 10, ttlSecondsAfterFinished: 86400, activeDeadlineSeconds: 1800 });
    const pod = job.spec.template.spec;
    expect(pod.automountServiceAccountToken).toBe(true);
    expect(pod.serviceAccountName).toBe('rc-ops');
    expect(pod.restartPolicy).toBe('Never');
    const container = pod.containers[0];
    expect(container.args).toEqual([Commands.CLUSTER, ClusterCommands.CREATE]);
    // POD_NAMESPACE first: Kubernetes expands $(POD_NAMESPACE) in CLUSTER_NODES only when defined before it.
    expect(container.env).toEqual([
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: Env.CLUSTER_NODES, value: [0, 1, 2, 3, 4, 5].map((i) => `rc-${i}.rc-headless.$(POD_NAMESPACE).svc:6379`).join(',') },
      { name: Env.CLUSTER_REPLICAS_PER_MASTER, value: '1' },
      { name: Env.CLUSTER_STATEFULSET, value: 'rc' },
      { name: Env.CLUSTER_NAMESPACE, valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: Env.REDIS_PASSWORD, valueFrom: { secretKeyRef: { name: 'redis-auth', key: 'password' } } },
    ]);
    expect(cluster.createJob).toBeDefined();
    expect(cluster.seedAddresses[0]).toBe('rc-0.rc-headless.test-ns.svc:6379');

    const without = testChart();
    const noJob = new RedisCluster(without, 'cluster', { operations: { createJob: false } });
    expect(all(synth(without), 'Job')).toEqual([]);
    expect(noJob.createJob).toBeUndefined();
  });

  test('the exporter sidecar runs with --is-cluster and the password; its PodMonitor selects the nodes', () => {
    const chart = testChart();
    new RedisCluster(chart, 'cluster', { password: secretRef(chart), exporter: { podMonitor: { labels: { release: 'kps' } } } });
    const docs = synth(chart);
    const sts = only(docs, 'StatefulSet');
    const exporter = sts.spec.template.spec.containers.find((c: Doc) => c.name === 'exporter');
    expect(exporter.args).toEqual(['--is-cluster']);
    expect(exporter.ports).toEqual([{ containerPort: 9121, name: 'metrics' }]);
    expect(envOf(exporter)).toEqual({ REDIS_ADDR: 'redis://localhost:6379', REDIS_PASSWORD: { secretKeyRef: { name: 'redis-auth', key: 'password' } } });
    expect(exporter.securityContext.runAsUser).toBe(REDIS_EXPORTER_UID);
    const monitor = only(docs, 'PodMonitor');
    expect(monitor.metadata.labels).toEqual({ release: 'kps' });
    expect(monitor.spec).toEqual({ selector: { matchLabels: sts.spec.selector.matchLabels }, podMetricsEndpoints: [{ port: 'metrics', path: '/metrics', interval: '15s' }] });
  });

  test('networkPolicy: client port from the registered pods, the create Job, KEDA and the nodes; bus port from the nodes only; exporter from monitoring', () => {
    const chart = testChart();
    const cluster = new RedisCluster(chart, 'cluster', { exporter: {}, networkPolicy: { kedaNamespace: 'keda-system' } });
    const own = new kplus.Deployment(chart, 'own', { containers: [{ image: 'example/own:1.0.0', envVariables: cluster.connection.envVariables() }] });
    cluster.allowFrom(own);
    const docs = synth(chart);
    const nodes = { podSelector: { matchLabels: only(docs, 'StatefulSet').spec.selector.matchLabels } };
    const job = { podSelector: { matchLabels: only(docs, 'Job').spec.template.metadata.labels } };
    const client = { podSelector: { matchLabels: only(docs, 'Deployment').spec.selector.matchLabels } };
    // Jobs made from the operation templates carry the templates' pod labels.
    const templates = all(docs, 'CronJob').map((c) => ({ podSelector: { matchLabels: c.spec.jobTemplate.spec.template.metadata.labels } }));
    expect(templates).toHaveLength(6);
    const ns = (name: string) => ({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': name } } });
    const policy = only(docs, 'NetworkPolicy');
    expect(policy.spec).toEqual({
      podSelector: nodes.podSelector,
      policyTypes: ['Ingress'],
      ingress: [
        { from: [nodes, job, ...templates, client, ns('keda-system')], ports: [{ protocol: 'TCP', port: 6379 }] },
        { from: [nodes], ports: [{ protocol: 'TCP', port: 16379 }] },
        { from: [ns('monitoring')], ports: [{ protocol: 'TCP', port: 9121 }] },
      ],
    });
    expect(chartRuleViolations(docs)).toEqual([]);
  });

  describe.each([
    ['explicit names', (n: string) => n],
    ['generated names', () => undefined],
  ])('with %s', (_label, name) => {
    function build() {
      const chart = testChart();
      const cluster = new RedisCluster(chart, 'cluster', {
        name: name('rc'),
        password: secretRef(chart),
        exporter: { podMonitor: true },
        networkPolicy: {},
        imagePullSecrets: ['registry'],
        consistencyChecker: {},
      });
      const user = new kplus.Deployment(chart, 'user', { containers: [{ image: 'example/user:1.0.0', envVariables: cluster.connection.envVariables(), resources: {} }] });
      cluster.allowFrom(user);
      return { cluster, docs: synth(chart) };
    }

    test('every object is named and every reference resolves', () => {
      const { docs } = build();
      expect(referenceViolations(docs, { externalSecrets: ['redis-auth', 'registry'] })).toEqual([]);
      expect(chartRuleViolations(docs)).toEqual([]);
      expect(docs.flatMap((d) => objectMetaViolations(d).map((v) => `${d.kind}: ${v}`))).toEqual([]);
      const sts = only(docs, 'StatefulSet');
      const { headless } = services(docs);
      const role = only(docs, 'Role');
      expect(role.rules[0].resourceNames).toEqual([sts.metadata.name]);
      expect(role.rules[2].resourceNames).toEqual([0, 1, 2, 3, 4, 5].map((i) => `data-${sts.metadata.name}-${i}`));
      expect(only(docs, 'RoleBinding').roleRef.name).toBe(role.metadata.name);
      expect(only(docs, 'RoleBinding').subjects[0].name).toBe(only(docs, 'ServiceAccount').metadata.name);
      expect(only(docs, 'PodDisruptionBudget').spec.selector.matchLabels).toEqual(sts.spec.template.metadata.labels);
      const account = only(docs, 'ServiceAccount').metadata.name;
      const crons = all(docs, 'CronJob');
      expect(crons.map((c) => c.spec.jobTemplate.spec.template.spec.containers[0].args[1])).toEqual(['check', 'fix', 'reconcile', 'rebalance', 'scale', 'upgrade']);
      for (const cron of crons) {
        const pod = cron.spec.jobTemplate.spec.template.spec;
        const env = envOf(pod.containers[0]);
        expect(pod.serviceAccountName).toBe(account);
        expect(env[Env.CLUSTER_STATEFULSET]).toBe(sts.metadata.name);
        expect(cron.metadata.name.length).toBeLessThanOrEqual(52);
      }
      const checker = all(docs, 'Deployment').find((d) => d.spec.template.spec.containers[0].name === 'checker')!;
      const checkerMonitor = all(docs, 'PodMonitor').find((m) => m.spec.selector.matchLabels['app.kubernetes.io/component'] === 'consistency-checker')!;
      expect(Object.entries(checkerMonitor.spec.selector.matchLabels).every(([k, v]) => checker.spec.template.metadata.labels[k] === v)).toBe(true);
      expect(envOf(checker.spec.template.spec.containers[0])[Env.CLUSTER_NODES]).toBe(
        [0, 1, 2, 3, 4, 5].map((i) => `${sts.metadata.name}-${i}.${headless.metadata.name}.test-ns.svc:6379`).join(','),
      );
      const nodes = envOf(only(docs, 'Job').spec.template.spec.containers[0])[Env.CLUSTER_NODES];
      expect(nodes).toBe([0, 1, 2, 3, 4, 5].map((i) => `${sts.metadata.name}-${i}.${headless.metadata.name}.$(POD_NAMESPACE).svc:6379`).join(','));
      expect(sts.spec.template.spec.containers[0].args[2]).toBe(`$(POD_NAME).${headless.metadata.name}.$(POD_NAMESPACE).svc`);
      if (name('rc')) {
        expect(
          docs
            .filter((d) => d.kind !== 'Deployment' || d.metadata.name === 'rc-consistency')
            .map((d) => `${d.kind}/${d.metadata.name}`)
            .sort(),
        ).toEqual(
          [
            ...['check', 'fix', 'reconcile', 'rebalance', 'scale', 'upgrade'].map((op) => `CronJob/rc-${op}`),
            'Deployment/rc-consistency',
            'PodMonitor/rc-consistency',
            'ConfigMap/rc-config',
            'Service/rc',
            'Service/rc-headless',
            'StatefulSet/rc',
            'PodMonitor/rc',
            'PodDisruptionBudget/rc',
            'ServiceAccount/rc-ops',
            'Role/rc-ops',
            'RoleBinding/rc-ops',
            'Job/rc-create',
            'NetworkPolicy/rc',
          ].sort(),
        );
      }
    });

    test('every object is valid against its upstream schema, without unknown fields', () => {
      const { docs } = build();
      const core = CoreFieldChecker.forDocuments(docs);
      const problems = docs.flatMap((d) =>
        [...upstreamErrors(d), ...(coreModelModule(d) ? core.unknownFields(d).map((f) => `${f}: unknown field`) : [])].map((p) => `${d.kind}/${d.metadata.name}: ${p}`),
      );
      expect(problems).toEqual([]);
    }, 60_000);

    test('every pod meets Pod Security "restricted" and the house rules', () => {
      const { docs } = build();
      const templates = docs.flatMap((d) => podTemplatesOf(d).map((t) => ({ kind: d.kind, spec: t.podSpec })));
      expect(templates.map((t) => t.kind).sort()).toEqual([...Array(6).fill('CronJob'), 'Deployment', 'Deployment', 'Job', 'StatefulSet']);
      // All but the user's Deployment (its resources are the test's {}).
      for (const t of templates.filter((t) => (t.spec as Doc).containers[0].image !== 'example/user:1.0.0')) {
        expect(restrictedViolations(t.spec)).toEqual([]);
        expect(containerRuleViolations(t.spec)).toEqual([]);
      }
    });
  });

  test('a chart without a namespace: seeds and the client host are bare names, the pods still announce qualified ones', () => {
    const chart = testChart(null);
    const cluster = new RedisCluster(chart, 'cluster', { name: 'rc' });
    const docs = synth(chart);
    expect(cluster.seedAddresses[5]).toBe('rc-5.rc-headless:6379');
    expect(cluster.connection.host).toBe('rc');
    expect(only(docs, 'RoleBinding').subjects).toEqual([{ kind: 'ServiceAccount', name: 'rc-ops' }]);
    expect(referenceViolations(docs)).toEqual([]);
  });

  test('operation templates: a suspended CronJob per operation, in Kubernetes mode as the ops account, not retried', () => {
    const chart = testChart();
    const cluster = new RedisCluster(chart, 'cluster', { name: 'rc', password: secretRef(chart), replicasPerMaster: 2 });
    const docs = synth(chart);
    const crons = all(docs, 'CronJob');
    expect(crons.map((c) => c.metadata.name)).toEqual(['rc-check', 'rc-fix', 'rc-reconcile', 'rc-rebalance', 'rc-scale', 'rc-upgrade']);
    expect(Object.keys(cluster.operationTemplates)).toEqual(['check', 'fix', 'reconcile', 'rebalance', 'scale', 'upgrade']);
    const password = { name: Env.REDIS_PASSWORD, valueFrom: { secretKeyRef: { name: 'redis-auth', key: 'password' } } };
    const kubernetesEnv = [
      { name: Env.CLUSTER_REPLICAS_PER_MASTER, value: '2' },
      { name: Env.CLUSTER_STATEFULSET, value: 'rc' },
      { name: Env.CLUSTER_NAMESPACE, valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      password,
    ];
    for (const cron of crons) {
      const operation = cron.metadata.name.slice('rc-'.length);
      // A template, never run by its schedule: suspended, and 31 February never comes.
      expect(cron.spec).toMatchObject({ suspend: true, schedule: '0 0 31 2 *', concurrencyPolicy: 'Forbid' });
      const job = cron.spec.jobTemplate.spec;
      expect(job.backoffLimit).toBe(0);
      expect(job.ttlSecondsAfterFinished).toBe(86400);
      expect(job.activeDeadlineSeconds).toBe(operation === 'check' ? 600 : undefined);
      const pod = job.template.spec;
      const container = pod.containers[0];
      expect(container.name).toBe(operation);
      expect(container.args).toEqual([Commands.CLUSTER, operation]);
      expect(pod.serviceAccountName).toBe('rc-ops');
      expect(pod.automountServiceAccountToken).toBe(true);
      // scale gets no CLUSTER_MASTERS: a Job made from the template unchanged stops with a usage error, scaling nothing.
      expect(container.env).toEqual(kubernetesEnv);
      expect(restrictedViolations(pod)).toEqual([]);
      expect(containerRuleViolations(pod)).toEqual([]);
    }

    const without = testChart();
    const none = new RedisCluster(without, 'cluster', { operations: { jobTemplates: false } });
    expect(all(synth(without), 'CronJob')).toEqual([]);
    expect(none.operationTemplates).toEqual({});
  });

  test('a Job made from the scale template unchanged scales nothing: a usage error naming CLUSTER_MASTERS', async () => {
    const chart = testChart();
    new RedisCluster(chart, 'cluster', { name: 'rc' });
    const cron = all(synth(chart), 'CronJob').find((c) => c.metadata.name === 'rc-scale')!;
    const container = cron.spec.jobTemplate.spec.template.spec.containers[0];
    const env = Object.fromEntries(container.env.map((e: Doc) => [e.name, e.value ?? 'test-ns']));
    const result = await runCli(container.args, { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`cluster scale --statefulset needs --masters (or env ${Env.CLUSTER_MASTERS}), the masters wanted`);
  });

  test('the RBAC covers what the templates do in Kubernetes mode: read this StatefulSet and its pods, scale it, move its partition, delete its claims', () => {
    const chart = testChart();
    new RedisCluster(chart, 'cluster', { name: 'rc' });
    const docs = synth(chart);
    const rules = only(docs, 'Role').rules;
    const allows = (group: string, resource: string, verb: string, name?: string) =>
      rules.some(
        (r: Doc) =>
          r.apiGroups.includes(group) &&
          r.resources.includes(resource) &&
          r.verbs.includes(verb) &&
          (r.resourceNames === undefined || (name !== undefined && r.resourceNames.includes(name))),
      );
    // check, fix, reconcile: the StatefulSet and its pods; scale: its scale and claims; upgrade: the partition (a patch of the StatefulSet).
    expect(allows('apps', 'statefulsets', 'get', 'rc')).toBe(true);
    expect(allows('apps', 'statefulsets', 'patch', 'rc')).toBe(true);
    expect(allows('apps', 'statefulsets/scale', 'patch', 'rc')).toBe(true);
    expect(allows('', 'pods', 'list')).toBe(true);
    expect(allows('', 'persistentvolumeclaims', 'delete', 'data-rc-5')).toBe(true);
    // And no more: not another StatefulSet, not a pod's deletion, not a Secret.
    expect(allows('apps', 'statefulsets', 'patch', 'other')).toBe(false);
    expect(allows('', 'pods', 'delete')).toBe(false);
    expect(allows('', 'secrets', 'get')).toBe(false);
  });

  test("the consistency checker: one pod of `cluster consistency-check` over every node, the password from the Secret, probes on its metrics port, a PodMonitor with the exporter's", () => {
    const chart = testChart();
    const cluster = new RedisCluster(chart, 'cluster', {
      name: 'rc',
      password: secretRef(chart),
      exporter: { podMonitor: { labels: { release: 'kps' } } },
      networkPolicy: {},
      consistencyChecker: { keys: 200, rate: 100, keyPrefix: 'check:' },
    });
    const docs = synth(chart);
    const deployment = only(docs, 'Deployment');
    expect(deployment.metadata.name).toBe('rc-consistency');
    expect(cluster.consistencyChecker?.name).toBe('rc-consistency');
    expect(deployment.spec.replicas).toBe(1);
    const pod = deployment.spec.template.spec;
    expect(pod.automountServiceAccountToken).toBe(false);
    const container = pod.containers[0];
    expect(container.args).toEqual([Commands.CLUSTER, ClusterCommands.CONSISTENCY_CHECK]);
    expect(container.env).toEqual([
      { name: Env.CLUSTER_NODES, value: cluster.seedAddresses.join(',') },
      { name: Env.CONSISTENCY_KEYS, value: '200' },
      { name: Env.CONSISTENCY_KEY_PREFIX, value: 'check:' },
      { name: Env.CONSISTENCY_RATE, value: '100' },
      { name: Env.REDIS_PASSWORD, valueFrom: { secretKeyRef: { name: 'redis-auth', key: 'password' } } },
      { name: Env.METRICS_PORT, value: '9090' },
    ]);
    expect(container.ports).toEqual([{ containerPort: 9090, name: 'metrics' }]);
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 9090, scheme: 'HTTP' });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 9090, scheme: 'HTTP' });
    expect(container.resources).toEqual({ limits: { memory: '256Mi' }, requests: { cpu: '50m', memory: '64Mi' } });
    expect(restrictedViolations(pod)).toEqual([]);
    expect(containerRuleViolations(pod)).toEqual([]);
    const monitor = all(docs, 'PodMonitor').find((m) => m.metadata.name === 'rc-consistency')!;
    expect(cluster.consistencyCheckerPodMonitor).toBeDefined();
    expect(monitor.metadata.labels).toEqual({ release: 'kps' });
    expect(monitor.spec).toEqual({
      selector: { matchLabels: { 'app.kubernetes.io/name': 'rc-consistency', 'app.kubernetes.io/component': 'consistency-checker' } },
      podMetricsEndpoints: [{ port: 'metrics', path: '/metrics', interval: '15s' }],
    });
    // The NetworkPolicy admits it to the client port.
    const clientPeers = only(docs, 'NetworkPolicy').spec.ingress[0].from;
    expect(clientPeers).toContainEqual({ podSelector: { matchLabels: deployment.spec.selector.matchLabels } });

    // Without monitoring, no PodMonitor unless asked; without the prop, no checker.
    const quiet = testChart();
    const q = new RedisCluster(quiet, 'cluster', { consistencyChecker: {} });
    expect(all(synth(quiet), 'PodMonitor')).toEqual([]);
    expect(q.consistencyCheckerPodMonitor).toBeUndefined();
    const asked = testChart();
    new RedisCluster(asked, 'cluster', { consistencyChecker: { podMonitor: true } });
    expect(all(synth(asked), 'PodMonitor')).toHaveLength(1);
    const none = testChart();
    expect(new RedisCluster(none, 'cluster').consistencyChecker).toBeUndefined();
    expect(all(synth(none), 'Deployment')).toEqual([]);
  });

  test.each([
    ['masters below 3', { masters: 2 }, "test/cluster: 'masters' (2) must be at least 3"],
    ['masters not an integer', { masters: 3.5 }, "test/cluster: 'masters' (3.5) must be an integer"],
    ['replicasPerMaster below 0', { replicasPerMaster: -1 }, "test/cluster: 'replicasPerMaster' (-1) must be at least 0"],
    ['nodeTimeout below 1 s', { nodeTimeout: Duration.millis(500) }, 'test/cluster: \'nodeTimeout\' ("500ms") must be a whole number of milliseconds from 1000 to 60000'],
    ['nodeTimeout above 60 s', { nodeTimeout: Duration.minutes(2) }, 'test/cluster: \'nodeTimeout\' ("120000ms") must be a whole number of milliseconds from 1000 to 60000'],
    ['nodeTimeout in fractions of a ms', { nodeTimeout: Duration.millis(1500.5) }, 'test/cluster: \'nodeTimeout\' ("1500.5ms") must be a whole number'],
    ['maxMasters below masters', { masters: 5, operations: { maxMasters: 4 } }, "test/cluster: 'operations.maxMasters' (4) must be at least 5"],
    ['name', { name: 'Redis_1' }, 'test/cluster: \'name\' ("Redis_1") must be a DNS-1123 label'],
    ['name too long', { name: 'a'.repeat(53) }, `test/cluster: 'name' ("${'a'.repeat(53)}") must be at most 52 characters`],
    ['image', { image: 'redis' }, 'test/cluster: \'image\' ("redis") must name a pinned tag or digest'],
    ['exporter.image', { exporter: { image: 'oliver006/redis_exporter' } }, 'test/cluster: \'exporter.image\' ("oliver006/redis_exporter") must name a pinned tag'],
    ['operations.image', { operations: { image: 'example/tool:latest' } }, 'test/cluster: \'operations.image\' ("example/tool:latest") must name a pinned tag'],
    ['persistence.size', { persistence: { size: Size.kibibytes(10) } }, 'test/cluster: \'persistence.size\' ("10Ki") must be at least 1Mi'],
    ['maxMemory', { maxMemory: Size.mebibytes(512) }, 'test/cluster: \'maxMemory\' ("512Mi") must be below the memory limit (512Mi)'],
    [
      'a name too long for the operation templates',
      { name: 'a'.repeat(43) },
      `test/cluster: 'name' ("${'a'.repeat(43)}") must be at most 42 characters with the operation templates (CronJob ${'a'.repeat(43)}-reconcile), or set 'operations.jobTemplates' to false`,
    ],
    ['consistencyChecker.keys', { consistencyChecker: { keys: 0 } }, "test/cluster: 'consistencyChecker.keys' (0) must be at least 1"],
    ['consistencyChecker.rate', { consistencyChecker: { rate: 0 } }, "test/cluster: 'consistencyChecker.rate' (0) must be a number of writes per second above 0"],
    [
      'consistencyChecker.keyPrefix',
      { consistencyChecker: { keyPrefix: 'a b' } },
      'test/cluster: \'consistencyChecker.keyPrefix\' ("a b") must be a non-empty key prefix without white space',
    ],
    ['consistencyChecker.image', { consistencyChecker: { image: 'example/tool' } }, 'test/cluster/consistency-checker: \'image\' ("example/tool") must name a pinned tag'],
  ])('rejects %s', (_label, props, message) => {
    expect(() => new RedisCluster(testChart(), 'cluster', props as any)).toThrow(message);
  });

  test('rejects a password Secret without a key', () => {
    const chart = testChart();
    expect(() => new RedisCluster(chart, 'cluster', { password: secretRef(chart, '') })).toThrow(`test/cluster: 'password.key' ("") must name the key of Secret "redis-auth"`);
  });

  test('the rendered config and args, and the Job as it runs, make a cluster of real redis-servers; a rerun changes nothing', async () => {
    const chart = testChart();
    new RedisCluster(chart, 'cluster', { name: 'rc', password: secretRef(chart), consistencyChecker: { keys: 50, rate: 200 } });
    const docs = synth(chart);
    const conf: string = only(docs, 'ConfigMap').data['redis.conf'];
    const redis = only(docs, 'StatefulSet').spec.template.spec.containers[0];
    const jobContainer = only(docs, 'Job').spec.template.spec.containers[0];
    const password = 's3cret';
    const started: Array<{ child: ChildProcess; port: number; dir: string }> = [];
    try {
      for (let i = 0; i < 6; i++) {
        const port = await freePort();
        let bus = await freePort();
        while (bus === port) bus = await freePort();
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redis-cluster-conf-'));
        // Only what a pod provides differs: its port, cluster port, data dir and address.
        const local = conf
          .replace('port 6379', `port ${port}`)
          .replace('cluster-port 16379', `cluster-port ${bus}`)
          .replace('dir /data', `dir ${dir}`)
          .replace('cluster-config-file /data/', `cluster-config-file ${dir}/`)
          .replace('bind * -::*', 'bind 127.0.0.1');
        fs.writeFileSync(path.join(dir, 'redis.conf'), local);
        const args = redis.args.map((a: string) =>
          a
            .replace('/etc/redis/redis.conf', path.join(dir, 'redis.conf'))
            .replace('$(REDIS_PASSWORD)', password)
            .replace(/^\$\(POD_NAME\)\..*$/, 'localhost'),
        );
        started.push({ child: await launch(args, port, password), port, dir });
      }
      const env: Record<string, string> = { [Env.REDIS_PASSWORD]: password };
      for (const e of jobContainer.env) if (e.value !== undefined) env[e.name] = e.value;
      // No API here: the StatefulSet's growth is e2e/redis-cluster-kubernetes.test.ts's part.
      delete env[Env.CLUSTER_STATEFULSET];
      // The pods' DNS names become the local processes' addresses.
      env[Env.CLUSTER_NODES] = started.map((s) => `127.0.0.1:${s.port}`).join(',');
      const first = await runCli(jobContainer.args, { env, timeoutMs: 90_000 });
      expect(first.code).toBe(0);
      const created = JSON.parse(first.stdout);
      expect(created.changed).toBe(true);
      expect(created.report.ok).toBe(true);
      expect(created.report.masters).toHaveLength(3);
      expect(created.report.slots).toEqual({ covered: 16384, uncovered: 0, disputed: 0, open: 0 });

      const client = new Redis({ host: '127.0.0.1', port: started[0].port, password, maxRetriesPerRequest: 1, lazyConnect: true });
      try {
        await client.connect();
        expect(await client.call('CONFIG', 'GET', 'cluster-node-timeout')).toEqual(['cluster-node-timeout', '5000']);
        expect(await client.call('CONFIG', 'GET', 'masterauth')).toEqual(['masterauth', password]);
        // Redirects name the announced hostname, never an IP.
        const moved = await Promise.all(
          ['a', 'b', 'c', 'd', 'e', 'f'].map((k) =>
            client.get(k).then(
              () => undefined,
              (e: Error) => e.message,
            ),
          ),
        );
        const redirects = moved.filter((m): m is string => m !== undefined && m.startsWith('MOVED'));
        expect(redirects.length).toBeGreaterThan(0);
        for (const m of redirects) expect(m).toMatch(/^MOVED \d+ localhost:\d+$/);
      } finally {
        client.disconnect();
      }

      // The readiness probe as the pod runs it: it passes with REDISCLI_AUTH, and fails without (AUTH is on).
      const probe: string[] = redis.readinessProbe.exec.command.map((a: string) => a.replace('-p 6379', `-p ${started[1].port}`));
      const probeEnv = (auth: string) => ({ env: { PATH: process.env.PATH, REDISCLI_AUTH: auth } });
      expect(spawnSync(probe[0], probe.slice(1), probeEnv(password)).status).toBe(0);
      expect(spawnSync(probe[0], probe.slice(1), probeEnv('')).status).not.toBe(0);

      const again = await runCli(jobContainer.args, { env, timeoutMs: 90_000 });
      expect(again.code).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({ changed: false, actions: [] });

      // The rebalance template's command and settings, with the nodes listed instead of found through the API (the
      // Kubernetes mode is e2e's): a balanced cluster moves nothing.
      const rebalance = all(docs, 'CronJob').find((c) => c.metadata.name === 'rc-rebalance')!.spec.jobTemplate.spec.template.spec.containers[0];
      const rebalanceEnv: Record<string, string> = { [Env.REDIS_PASSWORD]: password, [Env.CLUSTER_NODES]: env[Env.CLUSTER_NODES] };
      for (const e of rebalance.env) if (e.value !== undefined && e.name !== Env.CLUSTER_STATEFULSET) rebalanceEnv[e.name] = e.value;
      const balanced = await runCli(rebalance.args, { env: rebalanceEnv, timeoutMs: 60_000 });
      expect(balanced.code).toBe(0);
      expect(JSON.parse(balanced.stdout)).toMatchObject({ changed: false, moves: [] });

      // The consistency checker as its pod runs it: ready on /readyz of the probed port, counting on /metrics, exit 0 on SIGTERM.
      const checker = only(docs, 'Deployment').spec.template.spec.containers[0];
      const metricsPort = await freePort();
      const checkerEnv: Record<string, string> = { [Env.REDIS_PASSWORD]: password };
      for (const e of checker.env) if (e.value !== undefined) checkerEnv[e.name] = e.value;
      checkerEnv[Env.CLUSTER_NODES] = env[Env.CLUSTER_NODES];
      expect(checkerEnv[Env.METRICS_PORT]).toBe(String(checker.readinessProbe.httpGet.port));
      checkerEnv[Env.METRICS_PORT] = String(metricsPort);
      const running = startCli(checker.args, { env: checkerEnv });
      try {
        const get = (p: string) =>
          fetch(`http://127.0.0.1:${metricsPort}${p}`).then(
            async (r) => ({ status: r.status, body: await r.text() }),
            () => ({ status: 0, body: '' }),
          );
        await waitFor(async () => (await get(checker.readinessProbe.httpGet.path)).status === 200, 'the checker ready', 30_000, 100);
        expect((await get(checker.livenessProbe.httpGet.path)).status).toBe(200);
        const writes = () => get('/metrics').then((m) => Number(new RegExp(`^${ConsistencyMetrics.WRITES} (\\d+)$`, 'm').exec(m.body)?.[1] ?? 0));
        await waitFor(async () => (await writes()) >= 100, '100 writes counted', 30_000, 200);
        expect((await get('/metrics')).body).toMatch(new RegExp(`^${ConsistencyMetrics.LOST_WRITES} 0$`, 'm'));
      } finally {
        running.child.kill('SIGTERM');
      }
      const stopped = await running.done;
      expect(stopped.code).toBe(0);
      expect(stopped.stdout).not.toContain(password);
      expect(JSON.parse(stopped.stdout.trim().split('\n').pop()!)).toMatchObject({ summary: true, lostWrites: 0 });
    } finally {
      await Promise.all(started.map((s) => stopChild(s.child)));
      for (const s of started) fs.rmSync(s.dir, { recursive: true, force: true });
    }
  }, 200_000);
});
