/**
 * The scaler on a Redis Cluster of 3 masters (real redis-server processes joined by `redis-keda cluster create`):
 * REDIS_CLUSTER_NODES, forecasts of workloads whose keys lie on every master, each answered exactly.
 */
import { Cluster } from 'ioredis';
import { Env } from '../../../runtime/contract';
import { startCli } from '../../support/cli';
import { writeForecast } from '../../support/forecast-records';
import { ClusterNodes, createCluster, startClusterNodes } from '../../support/redis-cluster';
import { connectScaler, failureOf } from '../../support/scaler-client';

let cluster: ClusterNodes;
let client: Cluster;

beforeAll(async () => {
  cluster = await startClusterNodes({ count: 3 });
  await createCluster(cluster);
  client = new Cluster(
    cluster.nodes.map(({ host, port }) => ({ host, port })),
    { redisOptions: { protocol: 2 } },
  );
}, 60_000);

afterAll(async () => {
  client?.disconnect();
  await cluster?.stop();
});

test('GetMetrics answers every workload from the master holding its key', async () => {
  const workloads = Array.from({ length: 12 }, (_, i) => `app-${i}`);
  for (const [i, w] of workloads.entries()) await writeForecast(client, w, { ageSeconds: 0, desiredReplicas: [1, i + 2, 1, 1, 1, 1] });
  // The keys lie on all three masters.
  const sizes = await Promise.all(client.nodes('master').map((node) => node.dbsize()));
  expect({ masters: sizes.length, empty: sizes.filter((n) => n === 0).length, keys: sizes.reduce((a, b) => a + b, 0) }).toEqual({ masters: 3, empty: 0, keys: 12 });

  const scaler = startCli(['scaler'], { env: { [Env.REDIS_CLUSTER_NODES]: cluster.addresses, [Env.SCALER_PORT]: '0', [Env.METRICS_PORT]: '0', [Env.LOG_FORMAT]: 'json' } });
  try {
    const { port } = (await scaler.waitForLog((l) => l.msg === 'scaler listening')) as unknown as { port: number };
    await scaler.waitForLog((l) => l.msg === 'scaler running: redis connected');
    const grpc = connectScaler(`127.0.0.1:${port}`);
    try {
      const values = await Promise.all(workloads.map(async (w) => (await grpc.getMetrics({ scalerMetadata: { workload: w, leadTime: '1m' } })).metricValues[0].metricValueFloat));
      expect(values).toEqual(workloads.map((_, i) => i + 2));
      expect((await failureOf(grpc.getMetrics({ scalerMetadata: { workload: 'absent' } }))).code).toBe('NOT_FOUND');
    } finally {
      grpc.close();
    }
  } finally {
    scaler.child.kill('SIGTERM');
    expect((await scaler.done).code).toBe(0);
  }
});
