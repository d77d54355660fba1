/**
 * `redis-keda forecaster` on a Redis Cluster of 3 masters (real redis-server processes joined by `redis-keda cluster
 * create`), connected as a cluster client (REDIS_CLUSTER_NODES): the lease check and the write are one script over
 * two keys, which a cluster runs only because both keys lie in one slot.
 */
import { Cluster } from 'ioredis';
import { Env, forecastKey, forecastLeaseKey, ForecastRecord } from '../../../runtime/contract';
import { startForecaster, startPrometheusWithHistory, stopped, workloadFlags } from '../../support/forecaster';
import type { PrometheusServer } from '../../support/prometheus-server';
import { ClusterNodes, createCluster, startClusterNodes } from '../../support/redis-cluster';

let cluster: ClusterNodes;
let client: Cluster;
let prometheus: PrometheusServer;
let stopPrometheus: () => Promise<void>;

beforeAll(async () => {
  ({ prometheus, stop: stopPrometheus } = await startPrometheusWithHistory());
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
  await stopPrometheus?.();
});

test('the forecast and its lease share a slot, and a cluster client writes and gives back the lease', async () => {
  const [forecastSlot, leaseSlot] = await Promise.all([client.cluster('KEYSLOT', forecastKey('api')), client.cluster('KEYSLOT', forecastLeaseKey('api'))]);
  expect(leaseSlot).toBe(forecastSlot);

  const forecaster = startForecaster(workloadFlags('api'), 'replica-a', { [Env.REDIS_CLUSTER_NODES]: cluster.addresses, [Env.PROMETHEUS_URL]: prometheus.url });
  try {
    const written = await forecaster.waitForLog((l) => l.msg === 'forecast written', 30_000);
    const record = JSON.parse((await client.get(forecastKey('api'))) as string) as ForecastRecord;
    expect(record).toMatchObject({ workload: 'api', writer: 'replica-a' });
    expect(record.generatedAt >= (written.generatedAt as string)).toBe(true);
    expect(await client.get(forecastLeaseKey('api'))).toBe('replica-a');
  } finally {
    expect((await stopped(forecaster)).code).toBe(0);
  }
  expect(forecaster.logs.some((l) => l.msg === 'lease released')).toBe(true);
  expect(await client.get(forecastLeaseKey('api'))).toBeNull();
}, 60_000);
