import { ChildProcess, execFileSync, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as kplus from 'cdk8s-plus-27';
import Redis from 'ioredis';
import { RedisCluster } from '../../constructs';
import { ConsistencyMetrics, Env } from '../../runtime/contract';
import { CoreFieldChecker, coreModelModule } from '../manifests/core-fields';
import { chartRuleViolations, containerRuleViolations, podTemplatesOf } from '../manifests/house-rules';
import { restrictedViolations } from '../manifests/pod-security';
import { referenceViolations } from '../manifests/references';
import { upstreamErrors } from '../manifests/upstream-models';
import { runCli, startCli, waitFor } from '../support/cli';
import { freePort, stopChild } from '../support/redis-server';
import { all, Doc, envOf, only, synth, testChart } from './helpers';

const TLS_LINES = [
  'port 0',
  'tls-port 6379',
  'tls-cert-file /etc/redis-tls/tls.crt',
  'tls-key-file /etc/redis-tls/tls.key',
  'tls-ca-cert-file /etc/redis-tls/ca.crt',
  'tls-cluster yes',
  'tls-replication yes',
  'tls-auth-clients optional',
];

function tlsCluster(props: { caKey?: string; exporter?: boolean; checker?: boolean; users?: boolean } = {}) {
  const chart = testChart();
  const secret = kplus.Secret.fromSecretName(chart, 'tls', 'rc-tls');
  const cluster = new RedisCluster(chart, 'cluster', {
    name: 'rc',
    tls: { secret, ...(props.caKey ? { caKey: props.caKey } : {}) },
    ...(props.exporter ? { exporter: {} } : {}),
    ...(props.checker ? { consistencyChecker: {} } : {}),
    ...(props.users ? { users: [{ name: 'app', password: { secret: kplus.Secret.fromSecretName(chart, 'app-pw', 'app-auth'), key: 'password' }, rules: '~app:* +@all' }] } : {}),
  });
  return { chart, cluster, docs: synth(chart) };
}

/** The runtime env of a rendered container: literal values and the CA from its Secret; field refs left to the caller. */
function runtimeEnv(container: Doc, ca: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.secretKeyRef) {
      expect(e.valueFrom.secretKeyRef).toEqual({ name: 'rc-tls', key: 'ca.crt' });
      env[e.name] = ca;
    }
  }
  return env;
}

describe('RedisCluster tls', () => {
  test('the config serves TLS only on the client port, the bus and replication, with the mounted Secret', () => {
    const { docs } = tlsCluster();
    const conf: string = only(docs, 'ConfigMap').data['redis.conf'];
    const lines = conf.trim().split('\n');
    expect(lines).not.toContain('port 6379');
    expect(lines.filter((l) => TLS_LINES.includes(l))).toEqual(TLS_LINES);
    const pod = only(docs, 'StatefulSet').spec.template.spec;
    expect(pod.volumes).toContainEqual({ name: 'tls', secret: { secretName: 'rc-tls' } });
    const redis = pod.containers[0];
    expect(redis.volumeMounts).toContainEqual({ name: 'tls', mountPath: '/etc/redis-tls', readOnly: true });
    expect(redis.readinessProbe.exec.command).toEqual(['sh', '-c', 'redis-cli --tls --cacert /etc/redis-tls/ca.crt -p 6379 ping | grep -q PONG']);
    expect(redis.livenessProbe.tcpSocket).toEqual({ port: 6379 });
  });

  test('a CA under another key is what the nodes, probes and clients verify with', () => {
    const { docs, cluster } = tlsCluster({ caKey: 'bundle.pem' });
    expect(only(docs, 'ConfigMap').data['redis.conf']).toContain('\ntls-ca-cert-file /etc/redis-tls/bundle.pem\n');
    expect(only(docs, 'StatefulSet').spec.template.spec.containers[0].readinessProbe.exec.command[2]).toBe(
      'redis-cli --tls --cacert /etc/redis-tls/bundle.pem -p 6379 ping | grep -q PONG',
    );
    expect(cluster.tlsCa?.key).toBe('bundle.pem');
  });

  test('the exporter scrapes over TLS with the Secret mounted', () => {
    const { docs } = tlsCluster({ exporter: true });
    const exporter = only(docs, 'StatefulSet').spec.template.spec.containers.find((c: Doc) => c.name === 'exporter');
    expect(exporter.args).toEqual(['--is-cluster', '--tls-ca-cert-file=/etc/redis-tls/ca.crt', '--skip-tls-verification']);
    expect(envOf(exporter).REDIS_ADDR).toBe('rediss://localhost:6379');
    expect(exporter.volumeMounts).toEqual([{ name: 'tls', mountPath: '/etc/redis-tls', readOnly: true }]);
  });

  test('the connection, KEDA, the create Job, the templates and the checker get TLS and the CA', () => {
    const { chart, cluster, docs } = tlsCluster({ checker: true });
    expect(cluster.connection.tls).toBe(true);
    expect(cluster.connection.tlsCa?.key).toBe('ca.crt');
    expect(cluster.connection.triggerMetadata().enableTLS).toBe('true');
    expect(cluster.connection.triggerAuthentication(chart)!.toJson().spec.secretTargetRef).toEqual([{ parameter: 'ca', name: 'rc-tls', key: 'ca.crt' }]);
    const pods = [
      only(docs, 'Job').spec.template.spec.containers[0],
      ...all(docs, 'CronJob').map((c) => c.spec.jobTemplate.spec.template.spec.containers[0]),
      only(docs, 'Deployment').spec.template.spec.containers[0],
    ];
    expect(pods).toHaveLength(8);
    for (const container of pods) {
      const env = envOf(container);
      expect(env[Env.REDIS_TLS]).toBe('true');
      expect(env[Env.REDIS_TLS_CA]).toEqual({ secretKeyRef: { name: 'rc-tls', key: 'ca.crt' } });
    }
  });

  test('without tls nothing speaks TLS', () => {
    const chart = testChart();
    const cluster = new RedisCluster(chart, 'cluster', { name: 'rc', exporter: {} });
    const docs = synth(chart);
    expect(only(docs, 'ConfigMap').data['redis.conf']).not.toMatch(/tls/);
    expect(only(docs, 'ConfigMap').data['redis.conf']).toContain('\nport 6379\n');
    expect(JSON.stringify(only(docs, 'StatefulSet'))).not.toMatch(/tls/);
    expect(envOf(only(docs, 'Job').spec.template.spec.containers[0])[Env.REDIS_TLS]).toBeUndefined();
    expect(cluster.connection.tls).toBe(false);
  });

  test('the TLS manifests are valid upstream, restricted, and refer only to the given Secret', () => {
    const { docs } = tlsCluster({ exporter: true, checker: true });
    const core = CoreFieldChecker.forDocuments(docs);
    const problems = docs.flatMap((d) =>
      [...upstreamErrors(d), ...(coreModelModule(d) ? core.unknownFields(d).map((f) => `${f}: unknown field`) : [])].map((p) => `${d.kind}/${d.metadata.name}: ${p}`),
    );
    expect(problems).toEqual([]);
    expect(referenceViolations(docs, { externalSecrets: ['rc-tls'] })).toEqual([]);
    expect(chartRuleViolations(docs)).toEqual([]);
    for (const t of docs.flatMap((d) => podTemplatesOf(d))) {
      expect(restrictedViolations(t.podSpec)).toEqual([]);
      expect(containerRuleViolations(t.podSpec)).toEqual([]);
    }
  }, 60_000);

  test('ACL users: a user directive per user at start, its password from the Secret through the env', () => {
    const { docs } = tlsCluster({ users: true });
    const redis = only(docs, 'StatefulSet').spec.template.spec.containers[0];
    expect(redis.args.slice(redis.args.indexOf('--user'))).toEqual(['--user', 'app', 'on', '>$(REDIS_USER_PASSWORD_0)', '~app:*', '+@all']);
    expect(envOf(redis).REDIS_USER_PASSWORD_0).toEqual({ secretKeyRef: { name: 'app-auth', key: 'password' } });
    expect(JSON.stringify(docs)).not.toMatch(/>[a-z]/);
  });

  test.each([
    ['users[0].name', { users: [{ name: 'default', password: { key: 'p' } }] }, 'test/cluster: \'users[0].name\' ("default") must be 1 to 64 letters'],
    [
      'users[1].name',
      {
        users: [
          { name: 'a', password: { key: 'p' } },
          { name: 'a', password: { key: 'p' } },
        ],
      },
      'test/cluster: \'users[1].name\' ("a") must be unique among the users',
    ],
    ['users[0].password.key', { users: [{ name: 'a', password: { key: '' } }] }, 'test/cluster: \'users[0].password.key\' ("") must name the key'],
    [
      'users[0].rules',
      { users: [{ name: 'a', password: { key: 'p' }, rules: '~* >leak' }] },
      'test/cluster: \'users[0].rules\' ("~* >leak") must be space-separated ACL rules without passwords (not ">leak")',
    ],
  ])('rejects %s', (_prop, props, message) => {
    const chart = testChart();
    const secret = kplus.Secret.fromSecretName(chart, 's', 'x');
    const users = (props.users as any[]).map((u) => ({ ...u, password: { secret, key: u.password.key } }));
    expect(() => new RedisCluster(chart, 'cluster', { users })).toThrow(message);
  });

  test.each([
    ['tls.caKey', 'a b', 'test/cluster: \'tls.caKey\' ("a b") must name the key of Secret "rc-tls" that holds the PEM CA bundle'],
    ['tls.caKey', 'tls.key', 'test/cluster: \'tls.caKey\' ("tls.key") must not be tls.crt or tls.key: it names the CA bundle'],
  ])('rejects %s %s', (_prop, caKey, message) => {
    expect(() => tlsCluster({ caKey })).toThrow(message);
  });

  test("six TLS-only cluster nodes on the rendered config are created by the Job's container over TLS, and check passes", async () => {
    const { docs } = tlsCluster({ checker: true, users: true });
    const conf: string = only(docs, 'ConfigMap').data['redis.conf'];
    const redis = only(docs, 'StatefulSet').spec.template.spec.containers[0];
    const pki = fs.mkdtempSync(path.join(os.tmpdir(), 'redis-cluster-tls-'));
    const started: ChildProcess[] = [];
    try {
      const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: pki, stdio: 'pipe' });
      openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=redis-keda test CA', '-keyout', 'ca.key', '-out', 'ca.crt');
      openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'tls.key', '-out', 'tls.csr');
      fs.writeFileSync(path.join(pki, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
      openssl('x509', '-req', '-in', 'tls.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'san.ext', '-out', 'tls.crt');
      const ca = fs.readFileSync(path.join(pki, 'ca.crt'), 'utf8');
      const ports: number[] = [];
      for (let i = 0; i < 6; i++) {
        const port = await freePort();
        let bus = await freePort();
        while (bus === port || ports.includes(bus)) bus = await freePort();
        const dir = fs.mkdtempSync(path.join(pki, 'node-'));
        // Only what a pod provides differs: its ports, data dir, address, and the Secret's mount.
        const local = conf
          .replace('tls-port 6379', `tls-port ${port}`)
          .replace('cluster-port 16379', `cluster-port ${bus}`)
          .replace('dir /data', `dir ${dir}`)
          .replace('cluster-config-file /data/', `cluster-config-file ${dir}/`)
          .replace('bind * -::*', 'bind 127.0.0.1')
          .replaceAll('/etc/redis-tls/', `${pki}/`);
        fs.writeFileSync(path.join(dir, 'redis.conf'), local);
        const args = redis.args.map((a: string) =>
          a
            .replace('/etc/redis/redis.conf', path.join(dir, 'redis.conf'))
            .replace('$(REDIS_USER_PASSWORD_0)', 'app pass')
            .replace(/^\$\(POD_NAME\)\..*$/, '127.0.0.1'),
        );
        started.push(spawn('redis-server', args, { stdio: 'ignore' }));
        ports.push(port);
      }
      // Each node ready as its readiness probe sees it (redis-cli over TLS, verifying with the CA).
      const probe = (port: number) =>
        spawnSync('sh', ['-c', redis.readinessProbe.exec.command[2].replace('/etc/redis-tls/', `${pki}/`).replace('-p 6379', `-h 127.0.0.1 -p ${port}`)]).status;
      for (const port of ports) {
        const deadline = Date.now() + 10_000;
        while (probe(port) !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        expect(probe(port)).toBe(0);
      }

      const job = only(docs, 'Job').spec.template.spec.containers[0];
      const env = runtimeEnv(job, ca);
      // No API here: the StatefulSet's growth is e2e's part. The pods' DNS names become the local processes' addresses.
      delete env[Env.CLUSTER_STATEFULSET];
      env[Env.CLUSTER_NODES] = ports.map((p) => `127.0.0.1:${p}`).join(',');
      const created = await runCli(job.args, { env, timeoutMs: 90_000 });
      expect(created.code).toBe(0);
      const report = JSON.parse(created.stdout);
      expect(report).toMatchObject({ changed: true, report: { ok: true, slots: { covered: 16384, uncovered: 0, disputed: 0, open: 0 } } });
      expect(report.report.masters).toHaveLength(3);

      const check = all(docs, 'CronJob').find((c) => c.metadata.name === 'rc-check')!.spec.jobTemplate.spec.template.spec.containers[0];
      const checkEnv = runtimeEnv(check, ca);
      delete checkEnv[Env.CLUSTER_STATEFULSET];
      checkEnv[Env.CLUSTER_NODES] = env[Env.CLUSTER_NODES];
      const checked = await runCli(check.args, { env: checkEnv, timeoutMs: 60_000 });
      expect(checked.code).toBe(0);
      expect(JSON.parse(checked.stdout)).toMatchObject({ ok: true });

      // The ACL user authenticates over TLS on a node (its password holds a space) and is refused keys outside its pattern.
      const app = new Redis({ host: '127.0.0.1', port: ports[0], username: 'app', password: 'app pass', tls: { ca }, lazyConnect: true, maxRetriesPerRequest: 0 });
      try {
        await app.connect();
        expect(await app.call('ACL', 'WHOAMI')).toBe('app');
        await expect(app.get('other')).rejects.toThrow(/NOPERM/);
      } finally {
        app.disconnect();
      }

      // The consistency checker as its pod runs it: a cluster client over TLS, ready and counting writes, none lost.
      const checker = only(docs, 'Deployment').spec.template.spec.containers[0];
      const metricsPort = await freePort();
      const checkerEnv = { ...runtimeEnv(checker, ca), [Env.CLUSTER_NODES]: env[Env.CLUSTER_NODES], [Env.METRICS_PORT]: String(metricsPort) };
      const running = startCli(checker.args, { env: checkerEnv });
      try {
        const metrics = () =>
          fetch(`http://127.0.0.1:${metricsPort}/metrics`).then(
            (r) => r.text(),
            () => '',
          );
        const writes = async () => Number(new RegExp(`^${ConsistencyMetrics.WRITES} (\\d+)$`, 'm').exec(await metrics())?.[1] ?? 0);
        await waitFor(async () => (await writes()) >= 100, '100 writes counted over TLS', 30_000, 200);
        expect(await metrics()).toMatch(new RegExp(`^${ConsistencyMetrics.LOST_WRITES} 0$`, 'm'));
      } finally {
        running.child.kill('SIGTERM');
      }
      expect((await running.done).code).toBe(0);

      // Without the CA the same check cannot verify the nodes.
      delete checkEnv[Env.REDIS_TLS_CA];
      const unverified = await runCli(check.args, { env: checkEnv, timeoutMs: 60_000 });
      expect(unverified.code).not.toBe(0);
    } finally {
      await Promise.all(started.map((c) => stopChild(c)));
      fs.rmSync(pki, { recursive: true, force: true });
    }
  }, 120_000);
});
