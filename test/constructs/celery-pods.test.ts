/**
 * The pods CeleryWorker and CeleryProducer render, run as Kubernetes would run them: the container's
 * args and nothing but its env (Secrets and the pod name resolved as the kubelet would), against a
 * real redis-server with a password, and over TLS with a CA of its own. Python's `AsyncResult.get()`
 * reads the results, so the wiring reaches the real Celery too.
 */
import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import Redis from 'ioredis';
import { CeleryProducer, CeleryWorker, RedisConnectionProps, RedisConnection } from '../../constructs';
import { Env } from '../../runtime/contract';
import { RunningProcess, startCli, waitFor } from '../support/cli';
import { startTlsRedisServer, TlsRedisServer } from '../support/tls-redis-server';
import { withRedis } from '../support/redis-fixture';
import { pythonGet } from '../support/python-celery';
import { Doc, only, podEnv, synth, testChart } from './helpers';

const PASSWORD = 'pods-test-password';
const POD = 'celery-worker-5d8c7b9f4-x2k7q';

/** Worker and producer Deployments rendered for this connection, as their containers. */
function renderPods(connection: Omit<RedisConnectionProps, 'password' | 'tlsCa'>, ca: boolean) {
  const chart = testChart();
  const conn = RedisConnection.external(chart, {
    ...connection,
    password: { secret: kplus.Secret.fromSecretName(chart, 'pw', 'redis-auth'), key: 'password' },
    tlsCa: ca ? { secret: kplus.Secret.fromSecretName(chart, 'ca', 'redis-ca'), key: 'ca.crt' } : undefined,
  });
  new CeleryWorker(chart, 'worker', { name: 'celery-worker', connection: conn, concurrency: 2, grace: Duration.seconds(5) });
  new CeleryProducer(chart, 'producer', { name: 'producer', connection: conn, interval: Duration.millis(100) });
  const container = (name: string): Doc =>
    only(
      synth(chart).filter((d) => d.metadata.name === name),
      'Deployment',
    ).spec.template.spec.containers[0];
  return { worker: container('celery-worker'), producer: container('producer') };
}

const running: RunningProcess[] = [];

/** Starts a container's program with its rendered env; the metrics port freed for parallel test files. */
function startPod(container: Doc, secrets: Record<string, string>): RunningProcess {
  const env = { ...podEnv(container, { podName: POD, secrets }), [Env.METRICS_PORT]: '0' };
  const proc = startCli(container.args, { env });
  running.push(proc);
  return proc;
}

/** Task ids the producer printed (one JSON line per task sent). */
function sentIds(producer: RunningProcess): () => string[] {
  let out = '';
  producer.child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return () =>
    out
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => (JSON.parse(l) as { id: string }).id);
}

async function stopAll(): Promise<void> {
  await Promise.all(
    running.splice(0).map(async (p) => {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
      return p.done;
    }),
  );
}

afterEach(stopAll);

describe('the rendered celery-worker and producer pods, password from a Secret', () => {
  let port: number;
  let redis: Redis;
  withRedis((s, r) => ((port = s.port), (redis = r)));
  beforeAll(async () => {
    await redis.config('SET', 'requirepass', PASSWORD);
  });

  test("the producer's tasks run on the worker; Python's get() returns each users:<n>, stored by redis-keda@<pod name>", async () => {
    const pods = renderPods({ host: '127.0.0.1', port }, false);
    const secrets = { 'redis-auth/password': PASSWORD };
    const worker = startPod(pods.worker, secrets);
    await worker.waitForLog((l) => l.msg === 'celery worker started');
    const producer = startPod(pods.producer, secrets);
    const ids = sentIds(producer);
    await waitFor(() => ids().length >= 3, 'three tasks sent', 15_000);

    const outcomes = await pythonGet({ redisUrl: `redis://:${PASSWORD}@127.0.0.1:${port}/0` }, ids().slice(0, 3));
    expect(outcomes.map((o) => o.status)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS']);
    for (const o of outcomes) {
      expect(o.result).toMatch(/^users:\d+$/);
      expect(await redis.hget(o.result as string, 'worker')).toBe(`redis-keda@${POD}`);
    }

    producer.child.kill('SIGTERM');
    worker.child.kill('SIGTERM');
    expect((await producer.done).code).toBe(0);
    expect((await worker.done).code).toBe(0);
  });
});

describe('the rendered pods over TLS, verifying the server with the CA from a Secret', () => {
  let server: TlsRedisServer;
  let port: number;
  let ca: string;

  beforeAll(async () => {
    server = await startTlsRedisServer({ serverName: 'localhost', password: PASSWORD });
    ({ port, ca } = server);
  });
  afterAll(async () => {
    await stopAll();
    server?.stop();
  });

  test('worker and producer connect with REDIS_TLS_CA; results land, readable only by a client that trusts the CA', async () => {
    const pods = renderPods({ host: 'localhost', port }, true);
    const secrets = { 'redis-auth/password': PASSWORD, 'redis-ca/ca.crt': ca };
    const worker = startPod(pods.worker, secrets);
    await worker.waitForLog((l) => l.msg === 'celery worker started');
    const producer = startPod(pods.producer, secrets);
    const ids = sentIds(producer);
    await waitFor(() => ids().length >= 3, 'three tasks sent over TLS', 15_000);

    const client = new Redis({ host: 'localhost', port, password: PASSWORD, tls: { ca }, lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await client.connect();
      const metas = await Promise.all(
        ids()
          .slice(0, 3)
          .map(async (id) => {
            await waitFor(async () => (await client.exists(`celery-task-meta-${id}`)) === 1, `result of ${id}`, 10_000);
            return JSON.parse((await client.get(`celery-task-meta-${id}`))!);
          }),
      );
      expect(metas.map((m) => m.status)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS']);
    } finally {
      client.disconnect();
    }
    // Without the CA the server's certificate is refused: the programs above did use REDIS_TLS_CA.
    const untrusting = new Redis({ host: 'localhost', port, password: PASSWORD, tls: {}, lazyConnect: true, retryStrategy: () => null });
    const refused: string[] = [];
    untrusting.on('error', (e: Error) => refused.push(e.message));
    await expect(untrusting.connect()).rejects.toThrow();
    untrusting.disconnect();
    expect(refused.join('\n')).toMatch(/certificate/);

    producer.child.kill('SIGTERM');
    worker.child.kill('SIGTERM');
    expect((await producer.done).code).toBe(0);
    expect((await worker.done).code).toBe(0);
  });
});
