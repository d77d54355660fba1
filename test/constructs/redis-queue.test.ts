import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { Cron, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { AppendFsync, KedaScaledJob, KedaScaledObject, Publisher, QueueWorker, REDIS_EXPORTER_UID, RedisQueue } from '../../constructs';
import { networkPolicyViolations } from '../manifests/house-rules';
import { all, Doc, envOf, only, synth, testChart } from './helpers';

function secretRef(chart: any, key = 'password') {
  return { secret: kplus.Secret.fromSecretName(chart, 'pw', 'redis-auth'), key };
}

describe('RedisQueue', () => {
  test('defaults: one pod of the pinned official image as uid 999, writable /data, no persistence', () => {
    const chart = testChart();
    const queue = new RedisQueue(chart, 'queue');
    const docs = synth(chart);
    const sts = only(docs, 'StatefulSet');
    expect(sts.spec.replicas).toBe(1);
    const pod = sts.spec.template.spec;
    const redis = pod.containers[0];
    expect(redis.image).toMatch(/^redis:7\.\d+\.\d+$/);
    expect(redis.securityContext).toMatchObject({ runAsUser: 999, runAsGroup: 999, runAsNonRoot: true, readOnlyRootFilesystem: true });
    expect(pod.securityContext).toMatchObject({ fsGroup: 999, seccompProfile: { type: 'RuntimeDefault' } });
    const dataMount = redis.volumeMounts.find((m: any) => m.mountPath === '/data');
    const dataVolume = pod.volumes.find((v: any) => v.name === dataMount.name);
    expect(dataVolume).toEqual({ name: dataMount.name, emptyDir: {} });
    expect(sts.spec.volumeClaimTemplates).toBeUndefined();
    expect(only(docs, 'ConfigMap').data['redis.conf']).toContain('appendonly no');
    expect(queue.listName).toBe('events');
    expect(queue.connection.host).toBe(`${queue.service.name}.test-ns.svc`);
    expect(only(docs, 'Service').spec.ports).toEqual([{ name: 'redis', port: 6379, targetPort: 6379 }]);
  });

  test('persistence renders a claim template with size, class and the fsync policy', () => {
    const chart = testChart();
    new RedisQueue(chart, 'queue', { persistence: { size: Size.gibibytes(5), storageClassName: 'fast', appendFsync: AppendFsync.ALWAYS } });
    const docs = synth(chart);
    const sts = only(docs, 'StatefulSet');
    expect(sts.spec.volumeClaimTemplates).toEqual([
      {
        metadata: { name: 'data' },
        spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'fast', resources: { requests: { storage: '5Gi' } } },
      },
    ]);
    const redis = sts.spec.template.spec.containers[0];
    expect(redis.volumeMounts).toContainEqual({ name: 'data', mountPath: '/data' });
    expect((sts.spec.template.spec.volumes ?? []).map((v: any) => v.name)).not.toContain('data');
    const conf = only(docs, 'ConfigMap').data['redis.conf'];
    expect(conf).toContain('appendonly yes');
    expect(conf).toContain('appendfsync always');
  });

  test('the password reaches redis-server and the probe from the Secret, never as a value', () => {
    const chart = testChart();
    new RedisQueue(chart, 'queue', { password: secretRef(chart) });
    const docs = synth(chart);
    const redis = only(docs, 'StatefulSet').spec.template.spec.containers[0];
    expect(redis.args).toEqual(['/etc/redis/redis.conf', '--requirepass', '$(REDIS_PASSWORD)']);
    const env = envOf(redis);
    expect(env.REDIS_PASSWORD).toEqual({ secretKeyRef: { name: 'redis-auth', key: 'password' } });
    expect(env.REDISCLI_AUTH).toEqual({ secretKeyRef: { name: 'redis-auth', key: 'password' } });
  });

  test('exporter sidecar serves metrics with the password from the Secret', () => {
    const chart = testChart();
    new RedisQueue(chart, 'queue', { password: secretRef(chart), exporter: {} });
    const containers = only(synth(chart), 'StatefulSet').spec.template.spec.containers;
    const exporter = containers.find((c: any) => c.name === 'exporter');
    expect(exporter.ports).toEqual([{ containerPort: 9121, name: 'metrics' }]);
    expect(envOf(exporter).REDIS_PASSWORD).toEqual({ secretKeyRef: { name: 'redis-auth', key: 'password' } });
    expect(exporter.securityContext.runAsUser).toBe(REDIS_EXPORTER_UID);
    expect(exporter.readinessProbe.httpGet).toMatchObject({ path: '/health', port: 9121 });
  });

  test('listTrigger renders KEDA redis metadata and a TriggerAuthentication for the password', () => {
    const chart = testChart();
    const queue = new RedisQueue(chart, 'queue', { name: 'redis', password: secretRef(chart) });
    const trigger = queue.listTrigger({ listLength: 3, activationListLength: 1 }).bind(chart);
    expect(trigger.type).toBe('redis');
    expect(trigger.metadata).toEqual({ address: 'redis.test-ns.svc:6379', listName: 'events', listLength: '3', activationListLength: '1' });
    expect(trigger.authentication?.name).toBe('redis-trigger-auth');
    const auth = only(synth(chart), 'TriggerAuthentication');
    expect(auth.spec).toEqual({ secretTargetRef: [{ parameter: 'password', name: 'redis-auth', key: 'password' }] });
  });

  test.each([
    ['image', { image: 'redis' }, /'image' \("redis"\) must name a pinned tag or digest/],
    ['image latest', { image: 'redis:latest' }, /'image' \("redis:latest"\) must name a pinned tag/],
    ['listName', { listName: '' }, /'listName' \(""\) must be a non-empty key/],
    ['name', { name: 'Redis_1' }, /'name' \("Redis_1"\) must be a DNS-1123 label/],
    ['persistence.size', { persistence: { size: Size.kibibytes(10) } }, /'persistence.size' \("10Ki"\) must be at least 1Mi/],
  ])('rejects invalid %s', (_name, props, message) => {
    expect(() => new RedisQueue(testChart(), 'queue', props as any)).toThrow(message);
  });

  test('rejects a password Secret without a key', () => {
    const chart = testChart();
    expect(() => new RedisQueue(chart, 'queue', { password: secretRef(chart, '') })).toThrow(/test\/queue: 'password.key' \(""\) must name the key of Secret "redis-auth"/);
  });

  test('a chart without namespace fails validation: KEDA could not resolve the host', () => {
    const chart = testChart(null);
    new RedisQueue(chart, 'queue');
    expect(() => synth(chart)).toThrow(/test\/queue: the chart has no namespace.*set the chart's 'namespace'/);
  });

  test('maxmemory: three quarters of the memory limit by default, with noeviction', () => {
    const conf = (props: ConstructorParameters<typeof RedisQueue>[2]) => {
      const chart = testChart();
      const queue = new RedisQueue(chart, 'queue', props);
      return { queue, conf: only(synth(chart), 'ConfigMap').data['redis.conf'] as string };
    };
    const byDefault = conf({});
    expect(byDefault.queue.maxMemory.toMebibytes()).toBe(384);
    expect(byDefault.conf).toContain('maxmemory 384mb\nmaxmemory-policy noeviction\n');
    expect(conf({ resources: { memory: { limit: Size.gibibytes(1) } } }).conf).toContain('maxmemory 768mb\n');
    expect(conf({ resources: { memory: { limit: Size.mebibytes(90) } } }).conf).toContain('maxmemory 69120kb\n');
    expect(conf({ maxMemory: Size.mebibytes(500) }).conf).toContain('maxmemory 500mb\n');
    // No limit: the ceiling must be given.
    expect(conf({ resources: { cpu: { request: kplus.Cpu.millis(100) } }, maxMemory: Size.gibibytes(2) }).conf).toContain('maxmemory 2048mb\n');
  });

  test('rejects a maxmemory at or above the limit, below 1Mi, or no ceiling at all', () => {
    const queue = (props: ConstructorParameters<typeof RedisQueue>[2]) => () => new RedisQueue(testChart(), 'queue', props);
    expect(queue({ maxMemory: Size.mebibytes(512) })).toThrow('test/queue: \'maxMemory\' ("512Mi") must be below the memory limit (512Mi): Redis needs room beside its data');
    expect(queue({ maxMemory: Size.kibibytes(512) })).toThrow('test/queue: \'maxMemory\' ("512Ki") must be a whole number of KiB, at least 1Mi');
    expect(queue({ resources: { cpu: { request: kplus.Cpu.millis(100) } } })).toThrow(
      "test/queue: 'resources.memory.limit' (undefined) must be set, or 'maxMemory' given: Redis needs a memory ceiling below the container's limit",
    );
  });

  describe('networkPolicy', () => {
    /** A chart using the queue the ways the library offers: publisher, worker fleet, ScaledJob with its reaper, a workload of the user's. */
    function clientsChart(networkPolicy: ConstructorParameters<typeof RedisQueue>[2] extends infer P ? (P extends { networkPolicy?: infer N } ? N : never) : never = {}) {
      const chart = testChart();
      // Named: the check below finds clients by the Service name in their REDIS_HOST.
      const queue = new RedisQueue(chart, 'queue', { name: 'redis', exporter: {}, networkPolicy });
      new Publisher(chart, 'publisher', { queue });
      new QueueWorker(chart, 'worker', { queue });
      new KedaScaledJob(chart, 'consumer', {
        triggers: [queue.listTrigger()],
        container: { args: ['consume', '--once'], envVariables: queue.envVariables() },
        reaper: { schedule: Cron.everyMinute() },
      });
      const own = new kplus.Deployment(chart, 'own', { containers: [{ image: 'example/own:1.0.0', envVariables: queue.connection.envVariables() }] });
      queue.allowFrom(own);
      return { chart, queue, docs: synth(chart) };
    }
    const podLabels = (doc: Doc) =>
      (doc.kind === 'CronJob' ? doc.spec.jobTemplate.spec.template : doc.kind === 'ScaledJob' ? doc.spec.jobTargetRef.template : doc.spec.template).metadata.labels;
    const matches = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);

    test('the Redis port is open to exactly the pods of the workloads that use the queue, and to KEDA; the exporter to monitoring', () => {
      const { docs } = clientsChart();
      const policy = only(docs, 'NetworkPolicy');
      const server = only(docs, 'StatefulSet');
      expect(matches(policy.spec.podSelector.matchLabels, podLabels(server))).toBe(true);
      expect(policy.spec.policyTypes).toEqual(['Ingress']);
      const [redisRule, exporterRule] = policy.spec.ingress;
      expect(redisRule.ports).toEqual([{ port: 6379, protocol: 'TCP' }]);
      expect(exporterRule).toEqual({ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }], ports: [{ port: 9121, protocol: 'TCP' }] });
      expect(redisRule.from).toContainEqual({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'keda' } } });
      // Each pod selector matches the pods of one client workload, and every client is matched.
      const workloads = [...all(docs, 'Deployment'), ...all(docs, 'CronJob'), ...all(docs, 'ScaledJob')];
      const selected = redisRule.from
        .filter((p: Doc) => p.podSelector)
        .map((p: Doc) => workloads.filter((w) => matches(p.podSelector.matchLabels, podLabels(w))).map((w) => `${w.kind}/${w.metadata.name}`));
      expect(selected.map((names: string[]) => names.length)).toEqual([1, 1, 1, 1, 1]);
      expect(selected.flat().sort()).toEqual(workloads.map((w) => `${w.kind}/${w.metadata.name}`).sort());
      expect(workloads.map((w) => w.kind).sort()).toEqual(['CronJob', 'Deployment', 'Deployment', 'Deployment', 'ScaledJob']);
      expect(networkPolicyViolations(docs)).toEqual([]);
      // The server's own pods are not among the clients.
      expect(selected.flat()).not.toContain(`StatefulSet/${server.metadata.name}`);
    });

    test('a workload that connects without being registered is caught by the check over the synthesized objects', () => {
      const { chart, queue } = clientsChart();
      new kplus.Deployment(chart, 'stranger', { metadata: { name: 'stranger' }, containers: [{ image: 'example/s:1.0.0', envVariables: queue.connection.envVariables() }] });
      expect(networkPolicyViolations(synth(chart))).toEqual([
        `NetworkPolicy/${queue.statefulSet.name}: Deployment/stranger connects to Service/${queue.service.name} but no ingress rule lets its pods in`,
      ]);
    });

    test('the target of a KedaScaledObject on the queue is admitted; a trigger on another Redis admits nothing here', () => {
      const chart = testChart();
      const queue = new RedisQueue(chart, 'queue', { name: 'redis', networkPolicy: {} });
      const other = new RedisQueue(chart, 'other', { name: 'other' });
      const scaled = new kplus.Deployment(chart, 'scaled', { metadata: { name: 'scaled' }, containers: [{ image: 'example/w:1.0.0', envVariables: queue.envVariables() }] });
      new KedaScaledObject(chart, 'scaler', { target: scaled, triggers: [queue.listTrigger()] });
      const elsewhere = new kplus.Deployment(chart, 'elsewhere', { containers: [{ image: 'example/e:1.0.0', envVariables: other.envVariables() }] });
      new KedaScaledObject(chart, 'other-scaler', { target: elsewhere, triggers: [other.listTrigger()] });
      const docs = synth(chart);
      expect(only(docs, 'NetworkPolicy').spec.ingress[0].from).toEqual([
        { podSelector: { matchLabels: scaled.matchLabels } },
        { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'keda' } } },
      ]);
      expect(networkPolicyViolations(docs)).toEqual([]);
    });

    test('KEDA and monitoring namespaces are props; a client in another chart is admitted from its namespace', () => {
      const { chart, queue } = clientsChart({ kedaNamespace: 'keda-system', monitoringNamespace: 'observability' });
      const other = new kplus.Deployment(new (chart.constructor as any)(chart.node.scope, 'other', { namespace: 'elsewhere' }), 'remote', {
        containers: [{ image: 'example/r:1.0.0' }],
      });
      queue.allowFrom(other);
      const policy = only(synth(chart), 'NetworkPolicy');
      expect(policy.spec.ingress[0].from).toContainEqual({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'keda-system' } } });
      expect(policy.spec.ingress[0].from).toContainEqual({
        podSelector: { matchLabels: other.matchLabels },
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'elsewhere' } },
      });
      expect(policy.spec.ingress[1].from).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'observability' } } }]);
    });

    test('off by default; invalid namespaces and empty selectors are rejected', () => {
      const chart = testChart();
      const queue = new RedisQueue(chart, 'queue');
      new Publisher(chart, 'publisher', { queue });
      expect(all(synth(chart), 'NetworkPolicy')).toEqual([]);
      expect(queue.networkPolicy).toBeUndefined();
      expect(() => new RedisQueue(testChart(), 'queue', { networkPolicy: { kedaNamespace: 'KEDA' } })).toThrow(
        'test/queue: \'networkPolicy.kedaNamespace\' ("KEDA") must be a DNS-1123 label',
      );
      expect(() => queue.allowFrom({ matchLabels: {} })).toThrow('test/queue: \'allowFrom\' ("{}") must select the client pods by at least one label');
    });
  });

  test('the rendered config and probe work on a real redis-server with AUTH on', async () => {
    const chart = testChart();
    new RedisQueue(chart, 'queue', { password: secretRef(chart), persistence: {} });
    const docs = synth(chart);
    const conf = only(docs, 'ConfigMap').data['redis.conf'];
    const redis = only(docs, 'StatefulSet').spec.template.spec.containers[0];
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redis-queue-conf-'));
    const port = await freePort();
    // Only the port and data dir differ from the pod: they are what a pod provides.
    fs.writeFileSync(path.join(dir, 'redis.conf'), conf.replace('port 6379', `port ${port}`).replace('dir /data', `dir ${dir}`));
    const args = redis.args.map((a: string) => a.replace('/etc/redis/redis.conf', path.join(dir, 'redis.conf')).replace('$(REDIS_PASSWORD)', 's3cret'));
    const server = spawn(redis.command[0], args, { stdio: 'ignore' });
    try {
      const probe = redis.readinessProbe.exec.command.map((a: string) => a.replace('-p 6379', `-p ${port}`));
      let ok = false;
      for (let i = 0; i < 50 && !ok; i++) {
        ok = spawnSync(probe[0], probe.slice(1), { env: { ...process.env, REDISCLI_AUTH: 's3cret' } }).status === 0;
        if (!ok) await new Promise((r) => setTimeout(r, 100));
      }
      expect(ok).toBe(true);
      // Without the password the same probe fails: AUTH is really on.
      expect(spawnSync(probe[0], probe.slice(1), { env: { ...process.env, REDISCLI_AUTH: '' } }).status).not.toBe(0);
      const info = spawnSync('redis-cli', ['-p', String(port), 'config', 'get', 'appendonly'], { env: { ...process.env, REDISCLI_AUTH: 's3cret' } });
      expect(info.stdout.toString()).toContain('yes');
      const memory = spawnSync('redis-cli', ['-p', String(port), 'config', 'get', 'maxmemory*'], { env: { ...process.env, REDISCLI_AUTH: 's3cret' } });
      expect(memory.stdout.toString().split('\n').filter(Boolean)).toEqual(expect.arrayContaining(['maxmemory', String(384 * 1024 * 1024), 'maxmemory-policy', 'noeviction']));
    } finally {
      server.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}
