/**
 * bench:scaler's Go load generator (bench/scaler/loadgen), built as the benchmark builds it: its hand-encoded
 * GetMetricsRequest is what a grpc-js server of the generated descriptor decodes, field for field; its checks of the
 * answers and its counts by code; and its requests, made as the benchmark makes them, answered by `redis-keda scaler`
 * on a real redis-server. Needs Go (`npm run test:go`, not part of `npm test`).
 */
import * as grpc from '@grpc/grpc-js';
import type Redis from 'ioredis';
import { Env } from '../../runtime/contract';
import { externalScalerService, GetMetricsRequest, GetMetricsResponse } from '../../runtime/scaler/service';
import { buildLoadgen, LoadgenRequest, runLoadgen } from '../../bench/scaler/run-loadgen';
import { goVersion } from '../../bench/support/go-program';
import { RunningProcess, startCli } from '../support/cli';
import { writeForecast } from '../support/forecast-records';
import { RedisServer } from '../support/redis-server';
import { withRedis } from '../support/redis-fixture';

let binary: string;
beforeAll(async () => {
  binary = (await buildLoadgen()).path;
}, 300_000);

describe('against a grpc-js server of the generated descriptor that records what it decodes', () => {
  const received: GetMetricsRequest[] = [];
  /** metricValueFloat by workload; a workload not listed is NOT_FOUND. */
  const VALUES: Record<string, number> = { 'w-a': 2.5, 'w-b': 7 };
  let server: grpc.Server;
  let address: string;
  beforeAll(async () => {
    server = new grpc.Server();
    server.addService(externalScalerService(), {
      GetMetrics: (call: grpc.ServerUnaryCall<GetMetricsRequest, GetMetricsResponse>, callback: grpc.sendUnaryData<GetMetricsResponse>) => {
        received.push(call.request);
        const workload = call.request.scaledObjectRef?.scalerMetadata.workload ?? '';
        const value = VALUES[workload];
        if (value === undefined) return callback({ code: grpc.status.NOT_FOUND, details: `no forecast of ${workload}` });
        callback(null, { metricValues: [{ metricName: `forecast-${workload}`, metricValue: Math.round(value), metricValueFloat: value }] });
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
    );
    address = `127.0.0.1:${port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve())));
  beforeEach(() => received.splice(0));

  const requests: LoadgenRequest[] = [
    // Every field set, an empty metadata value and non-ASCII text among them.
    {
      name: 'so-a',
      namespace: 'ns-1',
      scalerMetadata: { scalerAddress: 'scaler.ns:9090', workload: 'w-a', leadTime: '300s', staleAfter: '', note: 'é ✓' },
      metricName: 'forecast-w-a',
      expect: 2.5,
    },
    { name: 'so-b', namespace: 'default', scalerMetadata: { workload: 'w-b' }, metricName: 'forecast-w-b', expect: 8 },
    { name: 'so-c', namespace: 'default', scalerMetadata: { workload: 'w-c' }, metricName: 'forecast-w-c', expect: null },
    { name: 'so-d', namespace: 'default', scalerMetadata: { workload: 'w-a' }, metricName: 'forecast-other', expect: null },
  ];
  const decoded = (r: LoadgenRequest) => ({ scaledObjectRef: { name: r.name, namespace: r.namespace, scalerMetadata: r.scalerMetadata }, metricName: r.metricName });

  test('open loop: each request decoded as given, in turn at the rate; wrong answers and failures counted', async () => {
    // 8 calls 50 ms apart, after the one untimed call of the first request.
    const report = await runLoadgen(binary, address, requests, { mode: 'open', rate: 20, seconds: 0.4 });
    expect(received).toEqual([requests[0], ...requests, ...requests].map(decoded));
    expect(report).toMatchObject({
      mode: 'open',
      carried: true,
      sent: 8,
      ok: 6,
      failed: { NOT_FOUND: 2 },
      wrong: 4,
      firstWrong: 'default/so-b: metricValueFloat 7, expected 8',
      sentPerSecond: 20,
    });
    for (const key of ['p50Ms', 'p99Ms', 'maxMs', 'fromSendP50Ms', 'fromSendP99Ms', 'sendLagP99Ms', 'loadgenCpuSeconds']) expect(report[key]).toEqual(expect.any(Number));
    expect(report.p50Ms as number).toBeLessThanOrEqual(report.maxMs as number);
  });

  test('a wrong metric name is a wrong answer', async () => {
    const report = await runLoadgen(binary, address, [requests[0], requests[3]], { mode: 'open', rate: 20, seconds: 0.1 });
    expect(report).toMatchObject({ sent: 2, ok: 2, failed: {}, wrong: 1, firstWrong: 'default/so-d: metric "forecast-w-a", asked for "forecast-other"' });
  });

  test('a first call that fails (the server not answering as the benchmark expects) fails the run, naming the code', async () => {
    await expect(runLoadgen(binary, address, [requests[2]], { mode: 'open', rate: 20, seconds: 0.1 })).rejects.toThrow(
      `loadgen: the first GetMetrics call to ${address} failed: NOT_FOUND`,
    );
  });

  test('closed loop: the calls in flight, each followed by the next of its request; the watched process CPU reported', async () => {
    const report = await runLoadgen(binary, address, requests.slice(0, 1), { mode: 'closed', seconds: 0.3, warmupSeconds: 0.1, concurrency: 3, watchPid: process.pid });
    expect(report).toMatchObject({ mode: 'closed', concurrency: 3, failed: {}, wrong: 0 });
    expect(report.calls as number).toBeGreaterThan(0);
    // Warm-up and measured calls and the ones under way at the end all reached the server.
    expect(received.length).toBeGreaterThan(report.calls as number);
    expect(received.every((r) => r.scaledObjectRef?.name === 'so-a')).toBe(true);
    expect(report.serverCpuSeconds).toEqual(expect.any(Number));
  });
});

describe('against redis-keda scaler on a real redis-server', () => {
  let server: RedisServer;
  let redis: Redis;
  withRedis((s, r) => ((server = s), (redis = r)));
  let scaler: RunningProcess;
  let address: string;
  beforeAll(async () => {
    // Point k holds from k minutes on: the max over 300 s is 5, over 0 s the first point, 1.
    await writeForecast(redis, 'api', { ageSeconds: 0, desiredReplicas: [1, 2, 5, 1, 1, 1, 1], leadTime: 300 });
    scaler = startCli(['scaler'], { env: { [Env.REDIS_URL]: server.url, [Env.SCALER_PORT]: '0', [Env.METRICS_PORT]: '0', [Env.LOG_FORMAT]: 'json' } });
    const listening = (await scaler.waitForLog((l) => l.msg === 'scaler listening')) as unknown as { port: number };
    await scaler.waitForLog((l) => l.msg === 'scaler running: redis connected');
    address = `127.0.0.1:${listening.port}`;
  });
  afterAll(async () => {
    scaler.child.kill('SIGTERM');
    expect((await scaler.done).code).toBe(0);
  });

  test('the trigger metadata the benchmark sends is read: workload, leadTime, staleAfter', async () => {
    const trigger = (leadTime: string, workload = 'api') => ({ scalerAddress: address, workload, leadTime, staleAfter: '120s' });
    const requests: LoadgenRequest[] = [
      { name: 'api', namespace: 'default', scalerMetadata: trigger('300s'), metricName: 'forecast-api', expect: 5 },
      { name: 'api', namespace: 'default', scalerMetadata: trigger('0s'), metricName: 'forecast-api', expect: 1 },
      { name: 'gone', namespace: 'default', scalerMetadata: trigger('300s', 'gone'), metricName: 'forecast-gone', expect: null },
      { name: 'api', namespace: 'default', scalerMetadata: trigger('soon'), metricName: 'forecast-api', expect: null },
    ];
    const report = await runLoadgen(binary, address, requests, { mode: 'open', rate: 40, seconds: 0.2 });
    expect(report).toMatchObject({ sent: 8, ok: 4, wrong: 0, failed: { NOT_FOUND: 2, INVALID_ARGUMENT: 2 } });
  });
});

test('without Go the benchmark says so', () => {
  expect(() => goVersion('the load generator', { ...process.env, PATH: '/nonexistent' })).toThrow(
    'Go is not installed (no `go` on the PATH): the load generator is a Go program built at run time; install Go (>= 1.26, with the Go module proxy reachable)',
  );
});
