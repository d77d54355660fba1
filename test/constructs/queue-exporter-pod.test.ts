/**
 * The pods a paced Publisher and a QueueExporter render, run as Kubernetes would run them: the
 * container's args and nothing but its env (the password from its Secret), against a real
 * redis-server with a password.
 */
import * as kplus from 'cdk8s-plus-27';
import Redis from 'ioredis';
import { Publisher, QueueExporter, RedisConnection } from '../../constructs';
import { Env, MetricLabels, Metrics } from '../../runtime/contract';
import { startCli, waitFor } from '../support/cli';
import { RedisServer, startRedis } from '../support/redis-server';
import { all, Doc, podEnv, synth, testChart } from './helpers';

const PASSWORD = 'exporter-pod-password';
let server: RedisServer;
let redis: Redis;
beforeAll(async () => {
  server = await startRedis({ password: PASSWORD });
  redis = new Redis({ host: '127.0.0.1', port: server.port, password: PASSWORD });
});
afterAll(async () => {
  await redis?.quit();
  await server?.stop();
});

test('a Publisher with `rate` feeds a list at that rate; the QueueExporter pod reports its depth and head age exactly', async () => {
  const chart = testChart();
  const connection = RedisConnection.external(chart, {
    host: '127.0.0.1',
    port: server.port,
    password: { secret: kplus.Secret.fromSecretName(chart, 'pw', 'redis-auth'), key: 'password' },
  });
  new Publisher(chart, 'publisher', { name: 'publisher', queue: { connection, listName: 'paced' }, rate: 25, batchSize: 1 });
  new QueueExporter(chart, 'exporter', {
    name: 'exporter',
    queues: [
      { connection, listName: 'paced' },
      { connection, listName: 'idle' },
    ],
  });
  const container = (name: string): Doc => all(synth(chart), 'Deployment').find((d) => d.metadata.name === name)!.spec.template.spec.containers[0];
  const run = (c: Doc) => startCli(c.args, { env: { ...podEnv(c, { podName: 'pod', secrets: { 'redis-auth/password': PASSWORD } }), [Env.METRICS_PORT]: '0' } });

  const exporter = run(container('exporter'));
  const publisher = run(container('publisher'));
  try {
    const { port } = (await exporter.waitForLog((l) => l.msg === 'health server listening')) as unknown as { port: number };
    await waitFor(async () => (await redis.llen('paced')) >= 50, 'two seconds at 25/s');
    publisher.child.kill('SIGTERM');
    expect((await publisher.done).code).toBe(0);
    const times = (await redis.lrange('paced', 0, -1)).map((raw) => (JSON.parse(raw) as { enqueuedAt: number }).enqueuedAt).sort((a, b) => a - b);
    // 25/s: 40 ms apart on average (absolute deadlines), within 5 % over the run.
    const rate = ((times.length - 1) * 1000) / (times[times.length - 1] - times[0]);
    expect(Math.abs(rate - 25) / 25).toBeLessThan(0.05);

    const before = Date.now();
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const after = Date.now();
    const value = (name: string, labels: string) => Number(new RegExp(`^${name}\\{${labels}\\} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value(Metrics.QUEUE_DEPTH, `${MetricLabels.LIST}="paced",${MetricLabels.STATE}="ready"`)).toBe(times.length);
    expect(value(Metrics.QUEUE_DEPTH, `${MetricLabels.LIST}="idle",${MetricLabels.STATE}="ready"`)).toBe(0);
    const age = value(Metrics.QUEUE_OLDEST_READY_AGE, `${MetricLabels.LIST}="paced"`);
    expect(age).toBeGreaterThanOrEqual((before - times[0]) / 1000 - 0.001);
    expect(age).toBeLessThanOrEqual((after - times[0]) / 1000 + 0.001);
    expect(text).toMatch(new RegExp(`^${Metrics.QUEUE_EXPORTER_UP} 1$`, 'm'));
  } finally {
    publisher.child.kill('SIGTERM');
    exporter.child.kill('SIGTERM');
    await Promise.all([publisher.done, exporter.done]);
  }
});
