import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { AppendFsync, RedisQueue } from '../../constructs';
import { envOf, only, synth, testChart } from './helpers';

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
    expect(dataVolume.emptyDir).toBeDefined();
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
    expect(sts.spec.volumeClaimTemplates).toEqual([{
      metadata: { name: 'data' },
      spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'fast', resources: { requests: { storage: '5Gi' } } },
    }]);
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
    expect(exporter.securityContext.runAsUser).toBeGreaterThan(0);
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
    expect(() => new RedisQueue(chart, 'queue', { password: secretRef(chart, '') })).toThrow(
      /test\/queue: 'password.key' \(""\) must name the key of Secret "redis-auth"/);
  });

  test('a chart without namespace fails validation: KEDA could not resolve the host', () => {
    const chart = testChart(null);
    new RedisQueue(chart, 'queue');
    expect(() => synth(chart)).toThrow(/test\/queue: the chart has no namespace.*set the chart's 'namespace'/);
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
